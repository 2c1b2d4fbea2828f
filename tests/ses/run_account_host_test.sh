#!/bin/sh
# run_account_host_test.sh - run the SES plugin's account-question host test, bounded in time.
# Skips (77) when python3 lacks botocore (Debian: apt-get install python3-botocore).
python3 -c 'import botocore' 2>/dev/null || { echo "python3 botocore missing: skip"; exit 77; }
exec timeout -k 10 300 ./tests/ses/ses_account_host_test
