-- account_send_rate_burst.lua - a burst of messages that crosses the account's MaxSendRate
-- (2 recipients a second here): the messages over the rate get 451 4.7.1 naming the region,
-- the client keeps them and retries, and every message ends relayed: nothing is lost
local T = dofile(LIB)
local function now_s()
  local p = assert(io.popen("date +%s.%N")); local v = tonumber(p:read("l")); p:close(); return v
end
local function stats()
  local p = io.popen("curl -s http://127.0.0.1:" .. SESPORT .. "/__stats"); local s = p:read("a"); p:close()
  local n = 0
  for _, c in s:gmatch('"(%a+)": (%d+)') do n = n + tonumber(c) end
  return n, s
end
for _ = 1, 100 do if T.log_count("SES account in us-east-1 healthy", true) > 0 then break end mt.sleep(0.1) end
T.expect(T.log_count("send quota 100000 per 24 h (0 sent), 2 per second", true) == 1, "quota not read")

T.case("account_burst_over_max_send_rate_tempfails_and_loses_nothing", function()
  local t0, calls0 = now_s(), stats()
  local pending, accepted, tempfailed, rounds = {}, 0, 0, 0
  for i = 1, 20 do pending[#pending + 1] = string.format("BURST%02d", i) end
  while #pending > 0 and rounds < 60 do
    rounds = rounds + 1
    local again = {}
    for _, qid in ipairs(pending) do
      local c, r = T.send{ ip = "10.0.0.5", from = "<a@example.com>", qid = qid .. "R" .. rounds,
                           headers = {{ "From", "a@example.com" }} }
      if r == SMFIR_ACCEPT or r == SMFIR_CONTINUE then
        accepted = accepted + 1
      else
        T.expect(r == SMFIR_REPLYCODE or r == SMFIR_TEMPFAIL, qid .. ": neither relayed nor tempfailed: " .. T.name(r))
        T.expect(T.log_line(qid .. "R" .. rounds .. ": action=", 'reply="451 4.7.1 Sending rate of the account in region us-east-1 reached'),
                 qid .. ": not the rate's 451 4.7.1")
        tempfailed = tempfailed + 1
        again[#again + 1] = qid
      end
      mt.disconnect(c)
    end
    pending = again
    if #pending > 0 then mt.sleep(0.5) end
  end
  local secs, calls = now_s() - t0, stats()
  mt.echo(string.format("burst: 20 messages, %d tempfails, %d relayed, %d rounds, %.1f s; "
                        .. "SES API calls %d (%.1f per minute)", tempfailed, accepted, rounds, secs,
                        calls - calls0, (calls - calls0) * 60 / secs))
  T.expect(#pending == 0, #pending .. " message(s) never relayed")
  T.expect(accepted == 20, "relayed " .. accepted .. " of 20")
  T.expect(tempfailed >= 1, "the burst never crossed the rate")
end)
