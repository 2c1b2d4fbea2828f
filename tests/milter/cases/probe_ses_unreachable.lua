-- probe_ses_unreachable.lua - "ses-milter -t" through the SES source: a verified domain is
-- accepted with its alignment prediction (Easy DKIM aligned); an SES endpoint answering 500,
-- or not at all, makes the verdict "unknown" with exit status 2 and the gate's 451 reply,
-- which the milter gives too for a message from that sender.
local T = dofile(LIB)
local function ses_mode(m)
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?ses=" .. m .. "'")
end
T.case("probe_ses_verified_domain_with_alignment_prediction", function()
  local p = T.probe("bob@dkim.example")
  T.expect(p.status == 0, "exit " .. tostring(p.status) .. "\n" .. p.out)
  T.expect(p.identity == "dkim.example (domain)", "identity: " .. tostring(p.identity))
  T.expect(p.source:find("^ses%-us %(plugin ses"), "source: " .. tostring(p.source))
  T.expect(p.alignment:find("dkim=aligned", 1, true), "alignment: " .. tostring(p.alignment))
  local c, r = T.send{ ip = "10.0.0.5", from = "<bob@dkim.example>", headers = {{ "From", "bob@dkim.example" }} }
  T.expect_probe_matches(c, r, p, "verified"); mt.disconnect(c)
end)
-- mode | address (a new one each time: neither cache has it)
for _, row in ipairs({ { "500", "dave@five-hundred.example" }, { "silent", "erin@silent.example" } }) do
  local mode, addr = row[1], row[2]
  T.case("probe_ses_" .. mode .. "_is_unknown_exit_2_and_the_gates_451", function()
    ses_mode(mode)
    local p = T.probe(addr)
    T.expect(p.status == 2, mode .. ": exit " .. tostring(p.status) .. "\n" .. p.out)
    T.expect(p.verdict:find("^unknown %("), mode .. ": verdict: " .. tostring(p.verdict))
    T.expect(p.reply:find("^451 4%.7%.1 Sender identity <" .. addr:gsub("%p", "%%%0") ..
                          "> could not be verified now"), mode .. ": reply: " .. tostring(p.reply))
    local c, r = T.send{ ip = "10.0.0.5", from = "<" .. addr .. ">", headers = {{ "From", addr }} }
    T.expect_probe_matches(c, r, p, mode); mt.disconnect(c)
    ses_mode("ok")
  end)
end
