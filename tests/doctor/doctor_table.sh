#!/bin/bash
# doctor_table.sh - "ses-milter doctor" against nsd zones that reproduce every DNS mistake of
# the SES troubleshooting guide (a passing and a failing zone per check) and the test SES
# endpoint (tests/ses/ses_endpoint.py, its "doctor" block: every VerificationInfo.ErrorType,
# DKIM and MAIL FROM status).  Table-driven: tests/doctor/cases lists TARGET EXIT-STATUS; the
# table output of each target must equal tests/doctor/golden/TARGET.txt line by line, and the
# --json output tests/doctor/golden/TARGET.json.  SM_DOCTOR_REGEN=1 rewrites the golden files.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }
D=$SM_SRCDIR/tests/doctor
B64=$(openssl pkey -in "$D/byodkim.pem" -pubout -outform DER | base64 -w0)

zone() { # zone NAME < records
    tb_zone "$1" "$W/dns/$1.zone"; cat >> "$W/dns/$1.zone"; tb_start_nsd "$1" "$W/dns/$1.zone"
}
ses_ok() { # the records of a healthy SES domain: DKIM CNAMEs for tokens $2 $3 $4, MAIL FROM, SPF
    printf '%s._domainkey IN CNAME %s.dkim.amazonses.com.\n' "$2" "$2" "$3" "$3" "$4" "$4"
    echo 'bounce IN MX 10 feedback-smtp.us-east-1.amazonses.com.'
    echo 'bounce IN TXT "v=spf1 include:amazonses.com ~all"'
    echo '@ IN TXT "v=spf1 include:amazonses.com -all"'
    echo "_dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@$1\""
}
zone amazonses.com <<'EOF'
@ IN TXT "v=spf1 ip4:54.240.0.0/18 ip4:199.255.192.0/22 -all"
EOF
# the parent of every test domain: no DMARC record there, so that RFC 9989's tree walk ends
# (NXDOMAIN) the way RFC 7489's public-suffix discovery does, except under reg.example, a
# private registry that publishes a public-suffix-domain record (psd=y): its RFC 9989
# organisational domain is the name under it, its RFC 7489 one reg.example itself
zone example < /dev/null
zone reg.example <<'EOF'
_dmarc IN TXT "v=DMARC1; p=reject; psd=y"
shop IN A 192.0.2.80
EOF
# passing: everything as SES wants it, and the legacy verification TXT
zone good.example < <({ ses_ok good.example g1 g2 g3; echo '_amazonses IN TXT "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU="'; })
# Easy DKIM mistakes: domain appended twice, underscore refused (two ways), value case changed
zone dkimbad.example <<'EOF'
t1._domainkey.dkimbad.example IN CNAME t1.dkim.amazonses.com.
t2.domainkey IN CNAME t2.dkim.amazonses.com.
t3-domainkey IN CNAME t3.dkim.amazonses.com.
_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@dkimbad.example"
EOF
# TXT instead of CNAME, the value with the domain appended, a CNAME elsewhere
zone dkimtype.example <<'EOF'
u1._domainkey IN TXT "u1.dkim.amazonses.com"
u2._domainkey IN CNAME u2.dkim.amazonses.com.dkimtype.example.
u3._domainkey IN CNAME u3.dkim.example.net.
_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@dkimtype.example"
EOF
# BYODKIM: the key's case changed by the DNS provider (nsd keeps a TXT value's case, not a CNAME's)
zone dkimcase.example < <({ ses_ok dkimcase.example x x x | grep -v _domainkey; echo "sel1._domainkey IN TXT \"v=DKIM1; k=rsa; p=${B64,,}\""; })
# records at the parent instead of the subdomain identity, and at the subdomain instead of the parent
zone par.example <<'EOF'
p1._domainkey IN CNAME p1.dkim.amazonses.com.
p2._domainkey.sub IN CNAME p2.dkim.amazonses.com.
p3._domainkey.sub IN CNAME p3.dkim.amazonses.com.
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@par.example"
EOF
zone rev.example <<'EOF'
r1._domainkey.mail IN CNAME r1.dkim.amazonses.com.
r2._domainkey IN CNAME r2.dkim.amazonses.com.
r3._domainkey IN CNAME r3.dkim.amazonses.com.
_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@rev.example"
EOF
# custom MAIL FROM: a CNAME at the MAIL FROM name (nothing may sit beside it) with REJECT_MESSAGE
zone mfcname.example < <({ ses_ok mfcname.example m1 m2 m3 | grep -v '^bounce'; echo 'bounce IN CNAME elsewhere.example.net.'; })
# MX and SPF at the parent instead of the MAIL FROM subdomain
zone mfparent.example < <({ ses_ok mfparent.example n1 n2 n3 | grep -v '^bounce\|^@'; echo '@ IN MX 10 feedback-smtp.us-east-1.amazonses.com.'; echo '@ IN TXT "v=spf1 include:amazonses.com ~all"'; })
# two MX, SPF split wrongly (strings joined without a space)
zone mfsplit.example < <({ ses_ok mfsplit.example s1 s2 s3 | grep -v '^bounce'; echo 'bounce IN MX 10 feedback-smtp.us-east-1.amazonses.com.'; echo 'bounce IN MX 20 mx2.mfsplit.example.'; echo 'bounce IN TXT "v=spf1 include:amazonses.com" "~all"'; })
# the wrong region's feedback host, no include:amazonses.com
zone mfregion.example < <({ ses_ok mfregion.example w1 w2 w3 | grep -v '^bounce'; echo 'bounce IN MX 10 feedback-smtp.eu-west-1.amazonses.com.'; echo 'bounce IN TXT "v=spf1 mx ~all"'; })
# SPF: two records, quoted wrongly, split wrongly, over the 10-lookup limit, over the void limit
zone spftwo.example < <({ ses_ok spftwo.example a1 a2 a3 | grep -v '^@'; echo '@ IN TXT "v=spf1 include:amazonses.com -all"'; echo '@ IN TXT "v=spf1 ip4:198.51.100.0/24 ~all"'; })
zone spfquoted.example < <({ ses_ok spfquoted.example b1 b2 b3 | grep -v '^@'; echo '@ IN TXT "\"v=spf1 include:amazonses.com -all\""'; })
zone spfsplit.example < <({ ses_ok spfsplit.example d1 d2 d3 | grep -v '^@'; echo '@ IN TXT "v=spf1 include:amazonses.com" "-all"'; })
zone spflimit.example < <({ ses_ok spflimit.example e1 e2 e3 | grep -v '^@'
  echo '@ IN TXT "v=spf1 a mx a:a.spflimit.example a:b.spflimit.example a:c.spflimit.example a:d.spflimit.example a:e.spflimit.example a:f.spflimit.example a:g.spflimit.example a:h.spflimit.example include:amazonses.com -all"'
  for h in a b c d e f g h; do echo "$h IN A 192.0.2.10"; done; echo '@ IN A 192.0.2.10'; echo '@ IN MX 10 a'; })
zone spfvoid.example < <({ ses_ok spfvoid.example f1 f2 f3 | grep -v '^@'; echo '@ IN TXT "v=spf1 a:x1.spfvoid.example a:x2.spfvoid.example a:x3.spfvoid.example include:amazonses.com -all"'; })
# DMARC: none at all, underscore refused, domain appended twice, case changed, quoted, p=none without
# rua, strict alignment (SPF through SES can never align), two records
zone nodmarc.example < <({ ses_ok nodmarc.example h1 h2 h3 | grep -v '^_dmarc'; })
zone dmarcus.example < <({ ses_ok dmarcus.example i1 i2 i3 | grep -v '^_dmarc'; echo 'dmarc IN TXT "v=DMARC1; p=reject"'; })
zone dmarctwice.example < <({ ses_ok dmarctwice.example j1 j2 j3 | grep -v '^_dmarc'; echo '_dmarc.dmarctwice.example IN TXT "v=DMARC1; p=reject"'; })
zone dmarccase.example < <({ ses_ok dmarccase.example k1 k2 k3 | grep -v '^_dmarc'; echo '_dmarc IN TXT "v=dmarc1; p=reject"'; })
zone dmarcquoted.example < <({ ses_ok dmarcquoted.example l1 l2 l3 | grep -v '^_dmarc'; echo '_dmarc IN TXT "\"v=DMARC1; p=reject\""'; })
zone dmarcnone.example < <({ ses_ok dmarcnone.example o1 o2 o3 | grep -v '^_dmarc'; echo '_dmarc IN TXT "v=DMARC1; p=none"'; })
zone dmarcstrict.example < <(ses_ok dmarcstrict.example q1 q2 q3 | sed 's/p=reject;/p=reject; adkim=s; aspf=s;/')
zone dmarctwo.example < <({ ses_ok dmarctwo.example y1 y2 y3; echo '_dmarc IN TXT "v=DMARC1; p=none"'; })
# BYODKIM: the key matches; quoted wrongly; split into two records
zone byo.example < <({ ses_ok byo.example x x x | grep -v _domainkey; echo "sel1._domainkey IN TXT \"v=DKIM1; k=rsa; p=$B64\""; })
zone byoquoted.example < <({ ses_ok byoquoted.example x x x | grep -v _domainkey; echo "sel1._domainkey IN TXT \"\\\"v=DKIM1; k=rsa; p=$B64\\\"\""; })
zone byosplit.example < <({ ses_ok byosplit.example x x x | grep -v _domainkey; echo "sel1._domainkey IN TXT \"v=DKIM1; k=rsa; p=${B64:0:100}\""; echo "sel1._domainkey IN TXT \"${B64:100}\""; })
# verification states: every ErrorType (their zones hold only a DMARC record)
# the legacy verification TXT with the domain appended twice
zone vf-legacy.example <<'EOF'
_amazonses.vf-legacy.example IN TXT "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU="
_dmarc IN TXT "v=DMARC1; p=none; rua=mailto:d@vf-legacy.example"
EOF
for d in vf-dns vf-host vf-type vf-value vf-service vf-pending vf-notstarted vf-paused addronly unknown; do
    zone "$d.example" < <(echo "_dmarc IN TXT \"v=DMARC1; p=none; rua=mailto:d@$d.example\"")
done
tb_run_nsd || exit 1

python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$D/fixture.json" --doctor \
    --port-file "$W/run/ses.port" > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }
mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_ACCESS_KEY_ID=AKIDDOCTOR AWS_SECRET_ACCESS_KEY=doctorSecretDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
conf() { # conf FILE [alignment settings]
    tb_milter_conf "$1" <<EOC
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "env"; rate = 100; burst = 100; } );
};
alignment: { relay = "${2:-ses}"; ${3:-} };
EOC
}
conf "$W/doctor.conf"
conf "$W/direct.conf" direct 'egress_ips = [ "54.240.0.10" ];'
doctor() { # doctor CONF ARGS... - stdout; $? the exit status
    timeout 60 "$SM_BUILDDIR/ses-milter" doctor -c "$@" --dkim-key "$D/byodkim.pem" 2>> "$W/doctor.err"
}

mkdir -p "$W/out"
while read -r target want cfg; do
    case $target in ''|'#'*) continue;; esac
    c=$W/doctor.conf; [ "$cfg" = direct ] && c=$W/direct.conf
    n=$target${cfg:+-$cfg}
    doctor "$c" "$target" > "$W/out/$n.txt"; rc=$?
    doctor "$c" --json "$target" > "$W/out/$n.json"; jrc=$?
    [ -n "${SM_DOCTOR_REGEN:-}" ] && cp "$W/out/$n.txt" "$W/out/$n.json" "$D/golden/"
    tb_check "doctor $n: exit status $want (table $rc, json $jrc)" test "$rc" = "$want" -a "$jrc" = "$want"
    if diff -u "$D/golden/$n.txt" "$W/out/$n.txt" > "$W/diff"; then
        tb_ok "doctor $n: table equals golden/$n.txt line by line"
    else
        tb_nok "doctor $n: table differs from golden/$n.txt"; cat "$W/diff"
    fi
    if diff -u "$D/golden/$n.json" "$W/out/$n.json" > "$W/diff"; then
        tb_ok "doctor $n: JSON equals golden/$n.json line by line"
    else
        tb_nok "doctor $n: JSON differs from golden/$n.json"; cat "$W/diff"
    fi
done < "$D/cases"

# the JSON documents parse, and say the exit status the command returned
for j in "$W"/out/*.json; do
    n=$(basename "$j" .json)
    want=$(awk -v t="${n%-direct}" '$1 == t { print $2; exit }' "$D/cases")
    tb_check "doctor $n: --json parses and its \"exit\" is $want" \
        python3 -c "import json,sys; sys.exit(json.load(open('$j'))['exit'] != $want)"
done

# a source without describe() (the file plugin): the verification says what the list says;
# --all lists its verified entries
printf 'good.example\nalice@addronly.example\n!nope.example\n' > "$W/identities"
chmod 644 "$W/identities"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
tb_milter_conf "$W/file.conf" <<EOC
identity: { plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } ); };
EOC
out=$("$SM_BUILDDIR/ses-milter" doctor -c "$W/file.conf" --all); rc=$?
tb_check "doctor --all with the file plugin: one block per verified entry" \
    test "$(grep -c '^[a-z0-9.@-]*: identity ' <<<"$out")" = 2
tb_check "doctor with the file plugin: the list's verdict on the verification line" \
    grep -q '✓ verification *good.example is listed as verified by source local (file 1.0)' <<<"$out"
tb_check "doctor with the file plugin: no SES state, so no DKIM or MAIL FROM lines for a domain" \
    bash -c "! grep -q 'dkim-cname\|mail-from' <<<'$out'"
tb_check "doctor --all with the file plugin: exit status 1 (addronly fails DKIM)" test "$rc" = 1

# a throttled SES: the verification cannot be checked, exit 2 (wins over the failures)
curl -s -X POST "http://127.0.0.1:$port/__mode?ses=429" > /dev/null
out=$(doctor "$W/doctor.conf" good.example); rc=$?
tb_check "doctor with SES throttled: exit status 2" test "$rc" = 2
tb_check "doctor with SES throttled: the verification line says the source could not answer" \
    grep -q '✗ verification *could not ask: source ses-us could not answer for good.example' <<<"$out"
curl -s -X POST "http://127.0.0.1:$port/__mode?ses=ok" > /dev/null
# --all: every identity the source lists, one block each
out=$(doctor "$W/doctor.conf" --all); rc=$?
tb_check "doctor --all: one block per listed identity" \
    test "$(grep -c '^[a-z0-9.@-]*: ' <<<"$out")" = "$(python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --doctor-count)"
tb_check "doctor --all: exit status 1 (some domains fail)" test "$rc" = 1
tb_check "doctor: nothing on its standard error (no sanitizer report, no error)" test ! -s "$W/doctor.err"
tb_check "doctor: no secret on its output" bash -c "! grep -rq doctorSecretDoNotLog '$W/out' '$W/doctor.err'"
tb_check "the endpoint saw only correctly signed requests" bash -c "! grep -q SignatureDoesNotMatch '$W/ses-endpoint.log'"
tb_done
