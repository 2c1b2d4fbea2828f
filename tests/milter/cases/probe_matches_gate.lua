-- probe_matches_gate.lua - "ses-milter -t ADDRESS" says what the gate does: for every row
-- of the gate tests' identity table (identities.txt: example.com, alice@other.example,
-- !blocked@example.com, bücher.example), its verdict, reply and exit status, and the milter
-- gives that very reply to a message from the address (MAIL FROM and From).
local T = dofile(LIB)
-- name | address | exit status | verdict (prefix) | reply (prefix) | identity
local rows = {
  { "verified_address", "alice@other.example", 0, "verified", "250 ", "alice@other.example (address)" },
  { "verified_domain_covers_subdomain", "x@deep.sub.example.com", 0, "verified", "250 ",
    "example.com (domain)" },
  { "label_is_stripped", "alice+news@other.example", 0, "verified", "250 ", "alice@other.example (address)" },
  { "unverified", "eve@unverified.example", 1, "not verified",
    "550 5.7.1 Sender identity <eve@unverified.example> is not verified for sending", "none" },
  { "address_entry_overrides_verified_domain", "blocked@example.com", 1, "not verified",
    "550 5.7.1 Sender identity <blocked@example.com> is not verified for sending",
    "blocked@example.com (address)" },
  { "local_part_is_case_sensitive", "Alice@other.example", 1, "not verified", "550 5.7.1 ", "none" },
  { "malformed_address", "no-at-sign", 1, "not verified",
    "550 5.7.1 The From header field has no valid address", "none" },
  { "idn_domain_u_label", "u@b\xc3\xbccher.example", 0, "verified", "250 ", "xn--bcher-kva.example (domain)" },
  { "utf8_local_part_verified", "j\xc3\xb6s@b\xc3\xbccher.example", 0, "verified", "250 ",
    "xn--bcher-kva.example (domain)" },
  { "utf8_local_part_unverified_reply_is_utf8", "j\xc3\xb6s\xc3\xa9@junk.com", 1, "not verified",
    "550 5.7.1 Sender identity <j\xc3\xb6s\xc3\xa9@junk.com> is not verified for sending", "none" },
}
local function has_prefix(s, p) return s ~= nil and s:sub(1, #p) == p end
for _, row in ipairs(rows) do
  local name, addr, status, verdict, reply, identity = table.unpack(row)
  T.case("probe_" .. name, function()
    local p = T.probe(addr)
    T.expect(p.status == status, name .. ": exit " .. tostring(p.status) .. ", want " .. status .. "\n" .. p.out)
    T.expect(has_prefix(p.verdict, verdict), name .. ": verdict: " .. tostring(p.verdict))
    T.expect(has_prefix(p.reply, reply), name .. ": reply: " .. tostring(p.reply))
    T.expect(p.identity == identity, name .. ": identity: " .. tostring(p.identity))
    T.expect(p.alignment ~= nil and p.result ~= nil, name .. ": incomplete report\n" .. p.out)
    -- the gate, through the milter protocol, for a message from the same address
    local utf8 = addr:find("[\x80-\xff]") and { "SMTPUTF8" } or nil
    local c, r = T.send{ ip = "10.0.0.5", from = "<" .. addr .. ">", mail_args = utf8,
                         headers = {{ "From", addr }, { "Subject", "probe" }} }
    T.expect_probe_matches(c, r, p, name)
    mt.disconnect(c)
  end)
end
T.case("probe_several_addresses_refused_wins", function()
  local cmd = string.format("'%s/ses-milter' -c '%s' -t alice@other.example -t eve@unverified.example >/dev/null 2>&1",
                            os.getenv("SM_BUILDDIR"), CONF)
  local _, _, st = os.execute(cmd)
  T.expect(st == 1, "two addresses, one refused: exit " .. tostring(st))
end)
T.case("probe_opens_no_socket_and_writes_no_pid_file", function()
  local f = assert(io.open(PIDFILE, "r")); local pid = f:read("l"); f:close()
  T.probe("alice@other.example")
  f = assert(io.open(PIDFILE, "r")); local now = f:read("l"); f:close()
  T.expect(now == pid, "the PID file changed: " .. tostring(now))
  local c, r = T.send{ ip = "10.0.0.5", from = "<alice@other.example>", headers = {{ "From", "alice@other.example" }} }
  T.expect_accept(r, "the daemon still serves its socket"); mt.disconnect(c)
end)
