#!/bin/sh
# test_token_tool.sh - ses-milter-token from the shell
#
# Proves: genkey writes a 0600 32-byte key and refuses to overwrite; create
# -> verify round-trips recipient and list id; one changed character, another
# key, an old token and garbage are refused with "tampered" / "expired" /
# "malformed" and exit 1; a group-readable key is refused (exit 2);
# check-post accepts an RFC 8058 one-click POST (token in query or path) and
# refuses a wrong body, an http URL, a URL without a token and a tampered one.
set -u
TOOL="${SM_BUILDDIR:-.}/ses-milter-token"
tmp=$(mktemp -d /tmp/test_token_tool.XXXXXX) || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
n=0

# expect NAME WANT_RC WANT_TEXT CMD... - run CMD, check exit code and output
expect() {
    name=$1 want_rc=$2 want_text=$3
    shift 3
    n=$((n + 1))
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        echo "not ok $n - $name: exit $rc, want $want_rc; output: $out"
        fails=$((fails + 1))
    elif [ -n "$want_text" ] && ! printf '%s\n' "$out" | grep -q -- "$want_text"; then
        echo "not ok $n - $name: output lacks '$want_text': $out"
        fails=$((fails + 1))
    else
        echo "ok $n - $name"
    fi
}

key="$tmp/key"
expect "genkey writes a key" 0 "" "$TOOL" genkey "$key"
expect "key is 32 bytes" 0 "^32$" sh -c "wc -c < '$key' | tr -d ' '"
expect "key is mode 600" 0 "^600$" stat -c %a "$key"
expect "genkey refuses to overwrite" 2 "cannot create" "$TOOL" genkey "$key"
"$TOOL" genkey "$tmp/other" >/dev/null 2>&1

tok=$("$TOOL" create -k "$key" -r alice@example.org -l news.example.com)
expect "create prints a token" 0 "^A[A-Za-z0-9_-]*\.[A-Za-z0-9_-]\{43\}$" echo "$tok"
expect "verify round trip: recipient" 0 "^recipient: alice@example.org$" \
    "$TOOL" verify -k "$key" "$tok"
expect "verify round trip: list id" 0 "^list_id: news.example.com$" \
    "$TOOL" verify -k "$key" "$tok"

# change one character in the middle of the payload
mid=10
c=$(printf '%s' "$tok" | cut -c$mid)
if [ "$c" = "Q" ]; then r=R; else r=Q; fi
bad=$(printf '%s' "$tok" | sed "s/^\(.\{$((mid - 1))\}\)./\1$r/")
expect "one changed char is tampered" 1 "^tampered:" "$TOOL" verify -k "$key" "$bad"
expect "another key is tampered" 1 "^tampered:" "$TOOL" verify -k "$tmp/other" "$tok"
expect "garbage is malformed" 1 "^malformed:" "$TOOL" verify -k "$key" "not-a-token"

old=$("$TOOL" create -k "$key" -r bob@example.org -l news -t $(($(date +%s) - 1000)))
expect "old token is expired" 1 "^expired:" "$TOOL" verify -k "$key" --max-age 10 "$old"
expect "max-age 0 never expires" 0 "^recipient: bob@example.org$" \
    "$TOOL" verify -k "$key" --max-age 0 "$old"
expect "issue time is printed" 0 "^issued: 1700000000 (2023-11-14T22:13:20Z)$" sh -c \
    "\"$TOOL\" verify -k '$key' --max-age 0 \$(\"$TOOL\" create -k '$key' -r a@b.example -l l -t 1700000000)"

cp "$key" "$tmp/loose"
chmod 640 "$tmp/loose"
expect "group-readable key refused" 2 "group or others" "$TOOL" verify -k "$tmp/loose" "$tok"
expect "missing -k is a usage error" 2 "" "$TOOL" verify "$tok"
expect "no arguments is a usage error" 2 "usage" "$TOOL"

body="List-Unsubscribe=One-Click"
expect "check-post: token in query" 0 "^one-click: ok$" \
    "$TOOL" check-post -k "$key" "https://u.example.com/unsub?list=news&t=$tok" "$body"
expect "check-post: token in path" 0 "^recipient: alice@example.org$" \
    "$TOOL" check-post -k "$key" "https://u.example.com/u/$tok/confirm" "$body"
expect "check-post: body with CRLF" 0 "^one-click: ok$" \
    "$TOOL" check-post -k "$key" "https://u.example.com/u/$tok" "$(printf '%s\r\n' "$body")"
expect "check-post: wrong body" 1 "List-Unsubscribe=One-Click" \
    "$TOOL" check-post -k "$key" "https://u.example.com/u/$tok" "List-Unsubscribe=Yes"
expect "check-post: http URL" 1 "not https" \
    "$TOOL" check-post -k "$key" "http://u.example.com/u/$tok" "$body"
expect "check-post: no token" 1 "no token" \
    "$TOOL" check-post -k "$key" "https://u.example.com/u/index.html?x=1" "$body"
expect "check-post: tampered token" 1 "^tampered:" \
    "$TOOL" check-post -k "$key" "https://u.example.com/u?t=$bad" "$body"

echo "1..$n"
[ "$fails" -eq 0 ] || exit 1
exit 0
