local T = dofile(LIB)
-- A message holds the old snapshot across a SIGHUP; its end drops the last reference.
-- The old snapshot's identity source blocks in close() until WORK/close-go exists:
-- the message's reply must come while that close() still waits (the snapshot is freed
-- by the reaper thread, not by the mail thread before its reply).
T.case("reload_frees_old_snapshot_off_mail_path", function()
  local c = T.connect{ ip = "10.0.0.5" }
  mt.macro(c, SMFIC_MAIL, "i", "HELD1")
  T.expect(mt.mailfrom(c, "<a@example.com>") == nil, "mailfrom")
  T.expect(mt.getreply(c) == SMFIR_CONTINUE, "mailfrom reply")
  T.expect(mt.rcptto(c, "<b@example.org>") == nil, "rcptto")
  T.expect(mt.header(c, "From", "a@example.com") == nil, "header")
  T.signal("HUP")
  T.expect(T.log_has("reloaded (version", true), "reload not logged")
  T.expect(not T.log_has("test source closing", true), "the old snapshot was freed while a message held it")
  T.expect(mt.eoh(c) == nil, "eoh")
  T.expect(mt.bodystring(c, "body\r\n") == nil, "body")
  T.expect(mt.eom(c) == nil, "eom")
  T.expect_accept(mt.getreply(c), "the message that held the old snapshot")
  T.expect(T.log_has("test source closing", true), "the old snapshot was not freed")
  T.expect(not T.log_has("test source closed", true),
           "the reply waited for the old snapshot's close(): it was freed on the mail thread")
  T.write(WORK .. "/close-go", "")
  T.expect(T.log_has("test source closed", true), "close() did not finish")
  mt.disconnect(c)
  local c2, r2 = T.send{ ip = "10.0.0.5", qid = "NEXT1", from = "<a@example.com>", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r2, "the next message")
  T.expect(T.log_has("NEXT1: action=accept outcome=completed", true), "next message not served")
  mt.disconnect(c2)
end)
