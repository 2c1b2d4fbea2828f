local T = dofile(LIB)
-- identities.txt: example.com (domain), alice@other.example, !blocked@example.com, bücher.example
local function send(from, env, extra)
  local h = {{ "From", from }, { "Subject", "gate" }}
  for _, x in ipairs(extra or {}) do h[#h + 1] = x end
  return T.send{ ip = "10.0.0.5", from = env or "<ok@example.com>", headers = h }
end
T.case("gate_verified_identities_are_accepted", function()
  for _, f in ipairs({ "bob@example.com", "x@deep.sub.example.com", "alice@other.example",
                       "alice+news@other.example", "Bob <BOB@EXAMPLE.COM>",
                       "u@xn--bcher-kva.example", "u@bücher.example" }) do
    local c, r = send(f); T.expect_accept(r, f); mt.disconnect(c)
  end
end)
T.case("gate_unverified_from_is_refused_550_naming_the_identity", function()
  local c, r = send("Eve <eve@unverified.example>")
  T.expect_reply(c, r, "550", "5.7.1", "Sender identity <eve@unverified.example> is not verified for sending")
  mt.disconnect(c)
end)
T.case("gate_local_part_is_case_sensitive", function()
  local c, r = send("Alice@other.example")
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
end)
T.case("gate_address_entry_overrides_its_verified_domain", function()
  local c, r = send("blocked@example.com")
  T.expect_reply(c, r, "550", "5.7.1", "Sender identity <blocked@example.com> is not verified for sending")
  mt.disconnect(c)
end)
T.case("gate_unverified_envelope_sender_is_refused", function()
  local c, r = send("bob@example.com", "<bounce@unverified.example>")
  T.expect_reply(c, r, "550", "5.7.1", "Sender identity <bounce@unverified.example> is not verified for sending")
  mt.disconnect(c)
end)
T.case("gate_unverified_sender_header_is_refused", function()
  local c, r = send("bob@example.com", nil, {{ "Sender", "helper@unverified.example" }})
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
end)
T.case("gate_null_sender_checks_the_from_header", function()
  local c, r = send("mailer-daemon@example.com", "<>"); T.expect_accept(r); mt.disconnect(c)
  c, r = send("mailer-daemon@unverified.example", "<>"); T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
end)
T.case("gate_every_from_mailbox_is_checked", function()
  local c, r = send("bob@example.com, eve@unverified.example")
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
end)
