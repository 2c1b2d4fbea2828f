local T = dofile(LIB)
-- ses-milter takes the MTA's offer of no reply (and no HELO) wherever it never decides,
-- so that the MTA streams those steps without waiting, and still decides at the others
T.case("protocol_no_reply_steps_negotiated", function()
  local c = T.connect{ ip = "10.0.0.5" }
  for _, f in ipairs({ { "SMFIP_NR_CONN", SMFIP_NR_CONN }, { "SMFIP_NR_RCPT", SMFIP_NR_RCPT },
                       { "SMFIP_NR_HDR", SMFIP_NR_HDR }, { "SMFIP_NR_EOH", SMFIP_NR_EOH },
                       { "SMFIP_NR_BODY", SMFIP_NR_BODY }, { "SMFIP_NOHELO", SMFIP_NOHELO } }) do
    T.expect(mt.test_option(c, f[2]), f[1] .. " not negotiated")
  end
  -- MAIL, DATA and end of message still answer: decisions are made there
  for _, f in ipairs({ { "SMFIP_NR_MAIL", SMFIP_NR_MAIL }, { "SMFIP_NR_DATA", SMFIP_NR_DATA },
                       { "SMFIP_SKIP", SMFIP_SKIP } }) do
    T.expect(not mt.test_option(c, f[2]), f[1] .. " negotiated")
  end
  local _, r = T.send({ from = "<a@example.com>",
                        headers = { { "From", "a@example.com" }, { "Subject", "hi" } },
                        body = string.rep("body line\r\n", 200) }, c)
  T.expect_accept(r, "verified sender through the no-reply steps")
  T.expect(T.log_has(T.last_qid .. ": action=accept", true), "summary line missing")
  -- an unverified one is still refused at end of message
  _, r = T.send({ from = "<x@unverified.example>",
                  headers = { { "From", "x@unverified.example" } } }, c)
  T.expect_reply(c, r, "550", "5.7.1")
  mt.disconnect(c)
end)
