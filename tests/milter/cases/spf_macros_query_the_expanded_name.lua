-- spf_macros_query_the_expanded_name.lua - SPF records with digit-transformer macros,
-- served by nsd, pass for the egress address: the adapter queried the names RFC 7208 7
-- gives (%{i4}, %{d2}, %{l1r+-}), which are the only ones the zone holds.  No DKIM
-- signature: DMARC (p=reject) passes through aligned SPF alone, and fails when SPF does.
-- With a direct relay the MAIL FROM the receiver sees is the envelope sender: %{l} is its
-- local part ("postmaster" only stands in when there is none, RFC 7208 4.3).
local T = dofile(LIB)
T.case("exists_with_i4_and_d2_passes", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "MAC1", from = "<bounce@macro.example>",
                       headers = {{ "From", "bob@macro.example" }} }
  T.expect_accept(r, "macro.example"); mt.disconnect(c)
  T.expect(T.log_line("MAC1: action=", " dmarc=pass "),
           "SPF of macro.example did not pass through 192.0.2.1.macro.example._spf.macro.example")
end)
T.case("include_with_l1r_and_d2_passes", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "MAC2", from = "<bounce+tag@sub.macro.example>",
                       headers = {{ "From", "bob@sub.macro.example" }} }
  T.expect_accept(r, "sub.macro.example"); mt.disconnect(c)
  T.expect(T.log_line("MAC2: action=", " dmarc=pass "),
           "SPF of sub.macro.example did not pass through bounce.macro.example._inc.macro.example (%{l} of bounce+tag)")
end)
T.case("a_client_the_record_does_not_name_fails", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "MAC3", from = "<bounce@other.macro.example>",
                       headers = {{ "From", "bob@macro.example" }} }
  T.expect_accept(r, "other.macro.example (tagged)"); mt.disconnect(c)
  T.expect(T.log_line("MAC3: action=", " dmarc=fail "), "SPF without a matching name passed")
end)
