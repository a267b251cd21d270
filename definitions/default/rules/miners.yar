// SPDX-License-Identifier: GPL-2.0-or-later
//
// Cryptocurrency miners: XMRig-style configuration files and XMRig binaries. Mining on servers
// is by far the most common payload of Linux intrusions, so these are detected as "trojan"
// (blocked and quarantined like any other threat) rather than as potentially unwanted
// applications (which default to audit only). A machine that mines on purpose allows the name:
//
//     mdatp threat allowed add --name "Trojan:Linux/CoinMiner.Xmrig"
//
// A config needs a stratum pool URL AND several XMRig config keys; a pool URL in a document or
// a shell history alone does not match.

rule CoinMiner_Config
{
    meta:
        threat_name = "Trojan:Linux/CoinMiner.Config"
        threat_type = "trojan"
        description = "XMRig-style miner configuration with a stratum pool"

    strings:
        $pool = /stratum\+(tcp|ssl|tls):\/\/[A-Za-z0-9.\-]{1,253}:[0-9]{2,5}/ nocase
        $key1 = "\"donate-level\""
        $key2 = "\"pools\""
        $key3 = "\"algo\""
        $key4 = "\"coin\""
        $key5 = "\"randomx\""
        $key6 = "\"nicehash\""
        $key7 = "\"rig-id\""
        $key8 = "\"keepalive\""
        $key9 = "\"huge-pages\""

    condition:
        filesize < 512KB and $pool and 3 of ($key*)
}

rule CoinMiner_Xmrig_ELF
{
    meta:
        threat_name = "Trojan:Linux/CoinMiner.Xmrig"
        threat_type = "trojan"
        description = "XMRig miner executable"

    strings:
        $name = "xmrig" nocase
        $s1 = "stratum+tcp://"
        $s2 = "--donate-level"
        $s3 = "randomx" nocase
        $s4 = "cryptonight" nocase
        $s5 = "donate.v2.xmrig.com"

    condition:
        uint32(0) == 0x464C457F and $name and 3 of ($s*)
}
