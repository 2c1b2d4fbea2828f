-- A header over the limit (1000 fields or 256 KiB) cannot be checked whole: refused by
-- default (identity.header_overflow), never passed with the later fields unseen.
local T = dofile(LIB)
local function padded(n, size, tail)
  local h = {{ "From", "bob@example.com" }}
  for i = 1, n do h[#h + 1] = { "X-Pad-" .. i, string.rep("p", size) } end
  for _, t in ipairs(tail or {}) do h[#h + 1] = t end
  return T.send{ ip = "10.0.0.5", from = "<ok@example.com>", headers = h }
end
local text = "Message header exceeds the limit of 1000 fields or 262144 bytes; the sender cannot be verified"
T.case("gate_too_many_header_fields_are_refused_naming_the_limit", function()
  local c, r = padded(1000, 10, {{ "From", "x@junk.com" }})
  T.expect_reply(c, r, "550", "5.7.1", text); mt.disconnect(c)
  T.expect(T.log_has("identity gate: message header over the limit", true), "no log line")
end)
T.case("gate_too_many_header_bytes_are_refused_naming_the_limit", function()
  local c, r = padded(300, 900, {{ "Sender", "x@junk.com" }})
  T.expect_reply(c, r, "550", "5.7.1", text); mt.disconnect(c)
end)
T.case("gate_header_within_the_limit_passes", function()
  local c, r = padded(900, 10)
  T.expect_accept(r, "900 fields"); mt.disconnect(c)
end)
