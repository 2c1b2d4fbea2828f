local T = dofile(LIB)
-- 200 SIGHUPs, each behind a SIGUSR1: each one is a reload, never a stop of libmilter (whose own
-- signal thread would close the socket if it received one); afterwards the socket
-- answers and a message is served, and SIGTERM still stops the daemon (run-case.sh).
T.case("sighup_storm_keeps_serving", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "HUP0", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r, "the message before the signals")
  mt.disconnect(c)
  local f = assert(io.open(PIDFILE, "r")); local pid = f:read("l"); f:close()
  -- each SIGHUP right behind a SIGUSR1: while the main thread reopens the logs, the
  -- kernel hands the SIGHUP to any other thread that waits for it
  T.expect(os.execute("i=0; while [ $i -lt 200 ]; do kill -USR1 " .. pid .. " && kill -HUP " .. pid ..
                      " || exit 1; i=$((i+1)); done"), "kill failed: the daemon is gone")
  T.expect(T.log_has("reloaded (version", true), "no reload logged")
  mt.sleep(1)
  T.expect(os.execute("kill -0 " .. pid), "the daemon died")
  c, r = T.send{ ip = "10.0.0.5", qid = "HUP1", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r, "the message after 200 SIGHUPs")
  T.expect(T.log_has("HUP1: action=accept outcome=completed", true), "the message after the signals not served")
  mt.disconnect(c)
end)
