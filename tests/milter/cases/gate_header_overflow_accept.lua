-- identity.header_overflow = "accept": a header over the limit is checked with what was
-- kept, and From and Sender fields are always kept, so padding cannot hide them.
local T = dofile(LIB)
local function padded(tail)
  local h = {{ "From", "bob@example.com" }}
  for i = 1, 1000 do h[#h + 1] = { "X-Pad-" .. i, "p" } end
  for _, t in ipairs(tail) do h[#h + 1] = t end
  return T.send{ ip = "10.0.0.5", from = "<ok@example.com>", headers = h }
end
T.case("gate_second_from_after_padding_is_still_seen", function()
  local c, r = padded({{ "From", "x@junk.com" }})
  T.expect_reply(c, r, "550", "5.7.1", "Message has more than one From header field"); mt.disconnect(c)
end)
T.case("gate_sender_after_padding_is_still_checked", function()
  local c, r = padded({{ "Sender", "x@junk.com" }})
  T.expect_reply(c, r, "550", "5.7.1", "Sender identity <x@junk.com> is not verified for sending")
  mt.disconnect(c)
end)
T.case("gate_overflow_accepted_is_logged", function()
  local c, r = padded({{ "Sender", "alice@other.example" }})
  T.expect_accept(r, "verified Sender after padding"); mt.disconnect(c)
  T.expect(T.log_has("header over the limit", true), "no log line about the overflow")
end)
