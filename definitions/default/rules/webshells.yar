// SPDX-License-Identifier: GPL-2.0-or-later
//
// PHP and JSP web shells: server-side scripts that run what an HTTP request tells them to.
// Every rule needs the script's opening tag AND code that hands request input to an evaluator
// or a command runner, so ordinary PHP/JSP (which evaluates constants, or runs fixed commands)
// does not match. The opening tags are written in hex so that this file does not match itself.
//
// threat_type "backdoor": a web shell gives whoever knows its URL a way into the server.

rule WebShell_PHP_Eval_Request
{
    meta:
        threat_name = "Backdoor:PHP/WebShell.Eval"
        threat_type = "backdoor"
        description = "PHP script that evaluates request input (China Chopper style one-liners)"

    strings:
        // the PHP opening tag: long form, echo form, or short form followed by a blank
        $php = { 3C 3F ( 70 68 70 | 3D | 20 | 09 | 0A | 0D ) }
        // eval or assert of request input, possibly through decoders (China Chopper and kin)
        $eval = /\b(eval|assert|create_function)\s*\(\s*(@?(base64_decode|gzinflate|gzuncompress|str_rot13|stripslashes|urldecode|hex2bin)\s*\(\s*)*@?\$_(POST|GET|REQUEST|COOKIE|SERVER)\s*\[/ nocase
        // a function whose name comes from the request, called with request input
        $varfunc = /\$_(POST|GET|REQUEST|COOKIE)\s*\[[^\]\n]{1,40}\]\s*\(\s*@?\$_(POST|GET|REQUEST|COOKIE)\s*\[/ nocase
        // preg_replace with the /e modifier on request input (PHP < 7)
        $preg_e = /preg_replace\s*\(\s*["'][^"'\n]{1,64}[\/#~@|!][a-zA-Z]*e[a-zA-Z]*["']\s*,\s*@?\$_(POST|GET|REQUEST|COOKIE)/ nocase

    condition:
        filesize < 1MB and $php and ($eval or $varfunc or $preg_e)
}

rule WebShell_PHP_Exec_Request
{
    meta:
        threat_name = "Backdoor:PHP/WebShell.Exec"
        threat_type = "backdoor"
        description = "PHP script that runs request input as a shell command"

    strings:
        $php = { 3C 3F ( 70 68 70 | 3D | 20 | 09 | 0A | 0D ) }
        $exec = /\b(system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)\s*\(\s*(@?(base64_decode|urldecode|stripslashes|hex2bin|str_rot13)\s*\(\s*)*@?\$_(POST|GET|REQUEST|COOKIE|SERVER)\s*\[/ nocase
        $backtick = /`\s*\$_(POST|GET|REQUEST|COOKIE)\s*\[[^\]\n]{1,40}\]\s*`/ nocase

    condition:
        filesize < 1MB and $php and ($exec or $backtick)
}

rule WebShell_PHP_Kit
{
    meta:
        threat_name = "Backdoor:PHP/WebShell.Kit"
        threat_type = "backdoor"
        description = "Well-known PHP web shell kits (c99, r57, WSO/FilesMan, b374k)"

    strings:
        $php = { 3C 3F ( 70 68 70 | 3D | 20 | 09 | 0A | 0D ) }
        $name1 = "c99shell" nocase
        $name2 = "r57shell" nocase
        $name3 = "FilesMan"
        $name4 = "b374k" nocase
        $name5 = "WSO " fullword
        $feat1 = "shell_exec" nocase
        $feat2 = "$_FILES[" nocase
        $feat3 = "posix_getpwuid" nocase
        $feat4 = "safe_mode" nocase
        $feat5 = "base64_decode" nocase
        $feat6 = "move_uploaded_file" nocase
        $feat7 = "disable_functions" nocase

    condition:
        filesize < 2MB and $php and any of ($name*) and 4 of ($feat*)
}

rule WebShell_JSP_Exec_Request
{
    meta:
        threat_name = "Backdoor:JSP/WebShell.Exec"
        threat_type = "backdoor"
        description = "JSP page that runs a request parameter as a command"

    strings:
        $jsp = { 3C 25 }                                // the JSP scriptlet tag
        $runtime = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(/
        $builder = /new\s+ProcessBuilder\s*\(/
        $param = /request\s*\.\s*getParameter\s*\(/
        $output = /\.\s*get(Input|Error)Stream\s*\(\s*\)/

    condition:
        filesize < 1MB and $jsp and ($runtime or $builder) and $param and $output
}
