// SPDX-License-Identifier: GPL-2.0-or-later
//
// Reverse-shell one-liners planted in scripts, cron jobs and shell start-up files: a shell whose
// input and output are a network connection to the attacker. Each rule needs the network part
// AND the interactive-shell part, so scripts that merely talk to /dev/tcp or run nc do not match.
// Patterns are regular expressions, which do not match their own source text in this file.
//
// threat_type "backdoor": these give a remote party a shell on the machine.

rule ReverseShell_Bash
{
    meta:
        threat_name = "Backdoor:Linux/ReverseShell.Bash"
        threat_type = "backdoor"
        description = "interactive shell redirected to a /dev/tcp connection"

    strings:
        $dev_tcp = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/
        $interactive = /\b(ba|z|k|da)?sh\s+-i\b/
        $stdin_dup = /0\s*>&\s*1\b/

    condition:
        filesize < 256KB and $dev_tcp and ($interactive or $stdin_dup)
}

rule ReverseShell_Netcat
{
    meta:
        threat_name = "Backdoor:Linux/ReverseShell.Netcat"
        threat_type = "backdoor"
        description = "netcat running a shell, or a named pipe looping a shell through netcat"

    strings:
        $nc_exec = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s[^\n]{0,80}-[a-zA-Z]*[ec]\s*\/bin\/(ba|z|k|da)?sh\b/
        $fifo = /\bmkfifo\s+\/(tmp|dev\/shm|var\/tmp)\//
        $fifo_shell = /\/bin\/(ba|z|k|da)?sh\s+-i\s+2\s*>\s*&\s*1\s*\|\s*(nc|ncat|netcat)\s/

    condition:
        filesize < 256KB and ($nc_exec or ($fifo and $fifo_shell))
}

rule ReverseShell_Python
{
    meta:
        threat_name = "Backdoor:Python/ReverseShell"
        threat_type = "backdoor"
        description = "socket connected out, duplicated onto stdio, then a shell spawned"

    strings:
        $socket = /socket\.socket\s*\(/
        $connect = /\.connect\s*\(\s*\(/
        $dup2 = /os\.dup2\s*\(/
        $pty = /pty\.spawn\s*\(\s*["'](\/bin\/)?(ba|z|k|da)?sh["']/
        $shell = /subprocess\.(call|Popen|run)\s*\(\s*\[\s*["'](\/bin\/)?(ba|z|k|da)?sh["']\s*,\s*["']-i["']/

    condition:
        filesize < 256KB and $socket and $connect and $dup2 and ($pty or $shell)
}

rule ReverseShell_Perl
{
    meta:
        threat_name = "Backdoor:Perl/ReverseShell"
        threat_type = "backdoor"
        description = "Perl socket handle made the standard input of an interactive shell"

    strings:
        $socket = /socket\s*\(\s*[A-Z]+\s*,\s*PF_INET/
        $stdin = /open\s*\(\s*STDIN\s*,\s*["']>&[A-Z]+["']\s*\)/
        $exec = /exec\s*\(?\s*["']\/bin\/(ba|z|k|da)?sh\s+-i["']/

    condition:
        filesize < 256KB and $socket and $stdin and $exec
}

rule ReverseShell_PHP
{
    meta:
        threat_name = "Backdoor:PHP/ReverseShell"
        threat_type = "backdoor"
        description = "PHP socket whose descriptor becomes the stdio of an interactive shell"

    strings:
        $sock = /fsockopen\s*\(/
        $exec = /(exec|shell_exec|system|passthru|popen|proc_open)\s*\(\s*["']\/bin\/(ba|z|k|da)?sh\s+-i\s*<&\s*[0-9]\s*>&\s*[0-9]\s*2>&\s*[0-9]["']/

    condition:
        filesize < 256KB and $sock and $exec
}
