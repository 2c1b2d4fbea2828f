local T = dofile(LIB)
-- an outgoing transaction (internal network) that ends before DATA: after RCPT (the
-- client quit or sent RSET) and after MAIL FROM (its only RCPT refused by the MTA).
-- The daemon writes an aborted record for each and serves the next message.
T.case("abort_before_data_keeps_serving", function()
  local stops = { "after_rcpt", "after_mail", "after_rcpt_rset_then_new_mail" }
  for i, stop in ipairs(stops) do
    local qid = "AB" .. i
    local c = T.connect{ ip = "10.1.2.3" }
    mt.macro(c, SMFIC_MAIL, "i", qid)
    T.expect(mt.mailfrom(c, "<a@example.com>") == nil, stop .. ": mailfrom failed")
    T.expect(mt.getreply(c) == SMFIR_CONTINUE, stop .. ": mailfrom not continued")
    if stop ~= "after_mail" then
      T.expect(mt.rcptto(c, "<bob@example.org>") == nil, stop .. ": rcptto failed")
      local r = mt.getreply(c)
      T.expect(r == SMFIR_CONTINUE or r == nil, stop .. ": rcpt reply " .. T.name(r))
    end
    T.expect(mt.abort(c) == nil, stop .. ": abort failed")
    T.expect(T.log_line(qid .. ": action=aborted", "outcome=aborted"), stop .. ": no aborted record")
    if stop == "after_rcpt_rset_then_new_mail" then
      local _, r = T.send({ qid = "AB" .. i .. "N", headers = {{ "From", "a@example.com" }} }, c)
      T.expect_accept(r, stop .. ": the next message on the same connection")
    end
    mt.disconnect(c)
    local c2, r2 = T.send{ ip = "10.1.2.3", qid = "AN" .. i, headers = {{ "From", "a@example.com" }} }
    T.expect_accept(r2, stop .. ": the next message")
    T.expect(T.log_has("AN" .. i .. ": action=accept outcome=completed", true), stop .. ": next message not served")
    mt.disconnect(c2)
  end
end)
