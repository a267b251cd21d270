// SPDX-License-Identifier: GPL-2.0-or-later
//
// A harmless test of the potentially_unwanted_application policy
// (threatTypeSettings: potentially_unwanted_application = off/audit/block), like EICAR is for
// viruses. A file that starts with the marker below and is shorter than 256 bytes is detected:
//
//     printf 'MDATP-PUA-TEST-FILE\n' > /tmp/pua-test

rule MdatpPuaTest
{
    meta:
        threat_name = "PUA:Linux/MdatpPuaTest"
        threat_type = "potentially_unwanted_application"
        description = "mdatp PUA test file"

    strings:
        $marker = "MDATP-PUA-TEST-FILE"

    condition:
        $marker at 0 and filesize < 256
}
