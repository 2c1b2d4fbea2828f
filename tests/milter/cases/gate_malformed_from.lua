local T = dofile(LIB)
local function send(headers)
  return T.send{ ip = "10.0.0.5", from = "<ok@example.com>", headers = headers }
end
T.case("gate_no_from_is_refused_with_its_own_text", function()
  local c, r = send({{ "Subject", "no from" }})
  T.expect_reply(c, r, "550", "5.7.1", "Message has no From header field, the sender cannot be verified")
  mt.disconnect(c)
end)
T.case("gate_two_from_fields_are_refused", function()
  local c, r = send({{ "From", "bob@example.com" }, { "From", "bob@example.com" }})
  T.expect_reply(c, r, "550", "5.7.1", "Message has more than one From header field")
  mt.disconnect(c)
end)
T.case("gate_unparseable_from_is_refused", function()
  for _, f in ipairs({ "<<<>>>", "\"unterminated@example.com", "nobody", "team: bob@example.com" }) do
    local c, r = send({{ "From", f }})
    T.expect_reply(c, r, "550", "5.7.1", "The From header field has no valid address")
    mt.disconnect(c)
  end
end)
T.case("gate_too_many_mailboxes_are_refused", function()
  -- (groups are allowed: gate_from_groups_and_utf8_replies.lua)
  local c, r
  local many = {}
  for i = 1, 17 do many[i] = "u" .. i .. "@example.com" end
  c, r = send({{ "From", table.concat(many, ", ") }})
  T.expect_reply(c, r, "550", "5.7.1", "The From header field has no valid address"); mt.disconnect(c)
end)
T.case("gate_quoted_angle_trap_is_attributed_to_the_real_domain", function()
  -- "Someone <x@junk.com>"@example.com is an address at example.com (verified)
  local c, r = send({{ "From", "\"Someone <x@junk.com>\"@example.com" }})
  T.expect_accept(r, "quoted local part"); mt.disconnect(c)
  -- and the other way round: the display name is ignored, junk.com is the domain
  c, r = send({{ "From", "\"bob@example.com\" <x@junk.com>" }})
  T.expect_reply(c, r, "550", "5.7.1", "Sender identity <x@junk.com> is not verified for sending")
  mt.disconnect(c)
end)
T.case("gate_encoded_and_folded_from_is_parsed", function()
  local c, r = send({{ "From", "=?UTF-8?B?w4lyaWM=?=\r\n <bob@example.com> (comment)" }})
  T.expect_accept(r, "encoded word + folding + comment"); mt.disconnect(c)
end)
