-- RFC 6854: a group in From is a list of mailboxes, each checked; an empty group names no
-- sender.  A non-ASCII local part is echoed readably: UTF-8 when the client said SMTPUTF8,
-- \u{N} escapes otherwise (never "??").
local T = dofile(LIB)
local function send(from, args)
  return T.send{ ip = "10.0.0.5", from = "<ok@example.com>", mail_args = args,
                 headers = {{ "From", from }} }
end
T.case("gate_group_of_verified_mailboxes_is_accepted", function()
  for _, f in ipairs({ "group: a@example.com, b@example.com;",
                       "Team <t@example.com>, list: alice@other.example;",
                       "empty:;, bob@example.com" }) do
    local c, r = send(f)
    T.expect_accept(r, f); mt.disconnect(c)
  end
end)
T.case("gate_every_mailbox_of_a_group_is_checked", function()
  for _, f in ipairs({ "team: bob@example.com, x@junk.com;", "bob@example.com, team: x@junk.com;" }) do
    local c, r = send(f)
    T.expect_reply(c, r, "550", "5.7.1", "Sender identity <x@junk.com> is not verified for sending")
    mt.disconnect(c)
  end
end)
T.case("gate_group_without_mailbox_is_refused_as_such", function()
  for _, f in ipairs({ "undisclosed-recipients:;", "a:;, b: ;" }) do
    local c, r = send(f)
    T.expect_reply(c, r, "550", "5.7.1", "The From header field names no mailbox, only an empty group")
    mt.disconnect(c)
  end
end)
T.case("gate_non_ascii_local_part_is_escaped_without_smtputf8", function()
  local c, r = send("j\xc3\xb6s\xc3\xa9@junk.com")
  T.expect_reply(c, r, "550", "5.7.1",
                 "Sender identity <j\\u{f6}s\\u{e9}@junk.com> is not verified for sending")
  mt.disconnect(c)
end)
T.case("gate_non_ascii_local_part_is_utf8_with_smtputf8", function()
  local c, r = send("j\xc3\xb6s\xc3\xa9@junk.com", { "SMTPUTF8" })
  T.expect_reply(c, r, "550", "5.7.1",
                 "Sender identity <j\xc3\xb6s\xc3\xa9@junk.com> is not verified for sending")
  mt.disconnect(c)
  -- a bidi override stays escaped even then
  c, r = send("a\xe2\x80\xaeb@junk.com", { "SMTPUTF8" })
  T.expect_reply(c, r, "550", "5.7.1",
                 "Sender identity <a\\u{202e}b@junk.com> is not verified for sending")
  mt.disconnect(c)
end)
