-- reload_storm_with_ses_source_keeps_verdicts.lua - SIGHUPs, each behind a SIGUSR1 (audit
-- log reopened), while messages are looked up through the SES source.  Each reload starts
-- a new SES instance that takes over the running warm-up, keeps and revalidates the shared
-- cache, and hands the old snapshot to the reaper (which stops its warm-up thread), while
-- mail threads ask SES through curl (cache TTL 1 s) and write audit records (fsync
-- interval: the syncer thread).  Every message gets the verdict of its identity, none is
-- tempfailed, and the daemon keeps serving.  In the TSan set (mk/tsan.am): the threads of
-- reload, reaper, warm-up, audit and mail at once.
local T = dofile(LIB)
local f = assert(io.open(PIDFILE, "r")); local pid = f:read("l"); f:close()

T.expect(T.log_has("warm-up: ", true), "the warm-up did not list the identities")

T.case("reload_storm_with_ses_source_keeps_verdicts", function()
  -- 30 SIGUSR1 + SIGHUP pairs, 0.1 s apart, in the background while 40 messages are sent
  os.execute("(i=0; while [ $i -lt 30 ] && kill -USR1 " .. pid .. " && kill -HUP " .. pid ..
             "; do sleep 0.1; i=$((i+1)); done) &")
  local senders = {
    { "a@storm.example", true }, { "carol@mixed.example", true },
    { "dave@mixed.example", false }, { "x@sub.storm.example", true }, { "e@nowhere.example", false },
  }
  for i = 1, 40 do
    local s = senders[(i - 1) % #senders + 1]
    local c, r = T.send{ ip = "10.0.0.5", qid = string.format("STORM%02d", i), headers = {{ "From", s[1] }} }
    if s[2] then
      T.expect_accept(r, s[1] .. " (message " .. i .. ")")
    else
      T.expect(r == SMFIR_REPLYCODE or r == SMFIR_REJECT,
               s[1] .. " (message " .. i .. "): expected a refusal, got " .. T.name(r))
      T.expect(T.log_line(T.last_qid .. ": action=", 'reply="550 5.7.1'), s[1] .. ": not a 550")
    end
    mt.disconnect(c)
  end
  T.expect(T.log_count("reloaded (version", true) >= 5, "fewer than 5 reloads logged")
  T.expect(not T.log_has("reload refused", true), "a reload was refused")
  T.expect(os.execute("kill -0 " .. pid), "the daemon died")
  local c, r = T.send{ ip = "10.0.0.5", qid = "STORMEND", headers = {{ "From", "a@storm.example" }} }
  T.expect_accept(r, "the message after the reloads")
  mt.disconnect(c)
end)
