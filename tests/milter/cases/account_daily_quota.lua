-- account_daily_quota.lua - Max24HourSend 5 with SentLast24Hours 3: each recipient is one
-- send, so a message to 3 recipients is deferred (451 4.7.1), one to 2 relayed, and then
-- even one more recipient is deferred until SES reports room again
local T = dofile(LIB)
local function msg(qid, rcpts)
  return T.send{ ip = "10.0.0.5", from = "<a@example.com>", qid = qid, rcpts = rcpts,
                 headers = {{ "From", "a@example.com" }} }
end
for _ = 1, 100 do if T.log_count("SES account in us-east-1 healthy", true) > 0 then break end mt.sleep(0.1) end

T.case("account_daily_quota_counts_recipients_as_sends", function()
  local c, r = msg("DAY1", { "<r1@example.org>", "<r2@example.org>", "<r3@example.org>" })
  T.expect_reply(c, r, "451", "4.7.1")
  T.expect(T.log_line("DAY1: action=", "Daily sending quota of the account in region us-east-1 reached (3 of 5 in 24 hours)"),
           "DAY1: reply text"); mt.disconnect(c)
  c, r = msg("DAY2", { "<r1@example.org>", "<r2@example.org>" })
  T.expect_accept(r, "2 recipients fit"); mt.disconnect(c)
  c, r = msg("DAY3", { "<r1@example.org>" })
  T.expect_reply(c, r, "451", "4.7.1"); mt.disconnect(c)
  T.expect(T.log_line("DAY3: action=", "(5 of 5 in 24 hours)"), "DAY3: the local estimate")
end)

T.case("account_daily_quota_estimate_survives_a_stale_reread", function()
  -- GetAccount is read again every 5 s and still says 3 sent: SES lags, the estimate keeps 5
  local before = T.log_count("DAY", true)
  mt.sleep(6)
  local c, r = msg("DAY4", { "<r1@example.org>" })
  T.expect_reply(c, r, "451", "4.7.1"); mt.disconnect(c)
end)

T.case("account_daily_quota_room_reported_by_ses_is_used", function()
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?account=quota:10,100,5'")
  for _ = 1, 150 do if T.log_count("send quota 10 per 24 h", true) > 0 then break end mt.sleep(0.1) end
  local c, r = msg("DAY5", { "<r1@example.org>" })
  T.expect_accept(r, "the new quota has room"); mt.disconnect(c)
end)
