-- account_api_budget_shared.lua - identity lookups of two instances, their suppression-list
-- lookups (GetSuppressedDestination, at RCPT), their GetAccount refreshes and their
-- ListEmailIdentities warm-ups all compete for one account's API budget (1 request/s): the
-- endpoint never sees more than one request in any second, and prints the calls per minute
-- of each operation
local T = dofile(LIB)
for _ = 1, 100 do if T.log_count("SES account in us-east-1 healthy", true) >= 2 then break end mt.sleep(0.1) end
T.expect(T.log_has("(API budget shared by 2 instance(s))", true), "the two instances do not share a budget")

T.case("account_api_budget_one_request_per_second_across_instances_and_apis", function()
  -- senders nobody verified: every candidate is asked of both instances (404 each); two new
  -- recipients a message: each is asked of both instances' suppression lists at RCPT
  for i = 1, 15 do
    local d = string.format("nowhere%d.example", i)
    local c, r = T.send{ ip = "10.0.0.5", from = "<x@" .. d .. ">", qid = "BUD" .. i,
                         rcpts = { string.format("<r%da@example.org>", i),
                                   string.format("<r%db@example.org>", i) },
                         headers = {{ "From", "x@" .. d }} }
    T.expect(r ~= SMFIR_ACCEPT, "BUD" .. i .. ": an unknown sender accepted")
    mt.disconnect(c)
    mt.sleep(0.4)
  end
  local p = io.popen("python3 " .. WORK .. "/budget.py " .. SESPORT .. " 1" ..
                     " GetEmailIdentity=10 GetSuppressedDestination=10 GetAccount=3; echo rc=$?")
  local out = p:read("a"); p:close()
  mt.echo(out)
  T.expect(out:find("rc=0", 1, true), "more than one request a second at the endpoint, or " ..
           "an operation missing from the load: " .. out)
end)
