-- An unparseable Sender, or more than one Sender field, is refused by default
-- (identity.unparseable_sender) like an unparseable From; reason in the log, the field in
-- the summary line's identities.
local T = dofile(LIB)
local function send(headers)
  return T.send{ ip = "10.0.0.5", from = "<ok@example.com>", headers = headers }
end
local text = "The Sender header field is not one valid address"
T.case("gate_unparseable_sender_is_refused", function()
  for _, s in ipairs({ "nobody", "<<<>>>", "team: a@example.com;", "a@example.com, b@example.com" }) do
    local c, r = send({{ "From", "bob@example.com" }, { "Sender", s }})
    T.expect_reply(c, r, "550", "5.7.1", text); mt.disconnect(c)
  end
  T.expect(T.log_has("identity gate: Sender header field without a valid address", true), "no reason logged")
  T.expect(T.log_line("action=reject", "identity=nobody:not_verified"), "summary line lacks the field")
end)
T.case("gate_two_sender_fields_are_refused", function()
  local c, r = send({{ "From", "bob@example.com" }, { "Sender", "bob@example.com" },
                     { "Sender", "x@junk.com" }})
  T.expect_reply(c, r, "550", "5.7.1", text); mt.disconnect(c)
  T.expect(T.log_has("identity gate: more than one Sender header field", true), "no reason logged")
end)
T.case("gate_valid_sender_is_still_checked", function()
  local c, r = send({{ "From", "bob@example.com" }, { "Sender", "alice@other.example" }})
  T.expect_accept(r, "verified Sender"); mt.disconnect(c)
end)
