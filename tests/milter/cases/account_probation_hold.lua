-- account_probation_hold.lua - on_probation_bulk = "hold", on_probation_transactional =
-- "tempfail": on PROBATION bulk mail is accepted into the MTA's hold queue (quarantine,
-- reason naming the region), transactional mail gets 451 4.7.1; the audit summary says so
local T = dofile(LIB)
for _ = 1, 100 do if T.log_count("under SES PROBATION", true) > 0 then break end mt.sleep(0.1) end
T.expect(T.log_has("bulk mail: hold, transactional mail: tempfail", true), "actions not logged at start")

local function msg(from, qid)
  return T.send{ ip = "10.0.0.5", from = "<" .. from .. ">", qid = qid,
                 headers = {{ "From", from }, { "Message-ID", "<" .. qid .. "@example.com>" }} }
end

T.case("account_probation_holds_bulk_mail_in_the_mta_queue", function()
  local c, r = msg("a@news.example.com", "HOLD1")
  T.expect_accept(r, "bulk mail on probation")
  T.expect(mt.eom_check(c, MT_QUARANTINE), "no quarantine requested"); mt.disconnect(c)
  T.expect(T.log_line("HOLD1: action=", "account=hold"), "HOLD1: summary line")
  T.expect(T.log_has("HOLD1: account: bulk mail held by source ses-us (region us-east-1, under SES PROBATION)", true),
           "HOLD1: decision line")
end)

T.case("account_probation_transactional_tempfail_when_configured", function()
  local c, r = msg("a@example.com", "HOLD2")
  T.expect_reply(c, r, "451", "4.7.1")
  T.expect(T.log_line("HOLD2: action=", "transactional mail deferred, try again later"), "HOLD2: reply"); mt.disconnect(c)
end)
