local T = dofile(LIB)
T.case("shutdown_finishes_message_in_flight", function()
  local c = T.connect{ ip = "10.0.0.5" }
  mt.macro(c, SMFIC_MAIL, "i", "INFLIGHT1")
  T.expect(mt.mailfrom(c, "<a@example.com>") == nil, "mailfrom")
  T.expect(mt.getreply(c) == SMFIR_CONTINUE, "mailfrom reply")
  T.expect(mt.rcptto(c, "<b@example.org>") == nil, "rcptto")
  T.expect(mt.header(c, "From", "a@example.com") == nil, "header")
  -- SIGTERM while the message is in flight: no new connections, this one finishes
  T.signal("TERM")
  T.expect(T.log_has("stopping after the messages in flight", true), "stop not logged")
  mt.sleep(0.3)
  -- a new connection while stopping: connect has no reply, so MAIL FROM refuses it
  local c2 = T.connect{ ip = "10.0.0.6" }
  mt.macro(c2, SMFIC_MAIL, "i", "LATE1")
  T.expect(mt.mailfrom(c2, "<a@example.com>") == nil, "mailfrom on the new connection")
  local r2 = mt.getreply(c2)
  T.expect(r2 == SMFIR_REPLYCODE or r2 == SMFIR_TEMPFAIL,
           "new transaction while stopping: expected a tempfail, got " .. T.name(r2))
  mt.disconnect(c2)
  T.expect(mt.eoh(c) == nil, "eoh after SIGTERM")
  T.expect(mt.bodystring(c, "body\r\n") == nil, "body after SIGTERM")
  T.expect(mt.eom(c) == nil, "eom after SIGTERM")
  T.expect_accept(mt.getreply(c), "the message in flight")
  T.expect(T.log_has("INFLIGHT1: action=accept", true), "summary of the message in flight")
  mt.disconnect(c)
  T.expect(T.log_has("stopped", true), "did not stop after the message")
end)
