"""Asking frameworks to erase the usage data they hold, and keeping the receipts.

identifiers  what identifies the collected data, read from local files only
channels     where a deletion request goes (documented, or configured by the user)
messages     the request itself: the e-mail and the JSON body, built from a ledger record
ledger       one fsynced JSON file per request, written before the first send attempt
deliver_*    the ways a request leaves the machine (SMTP, HTTPS, a file, a mailto: URL)
secrets      the SMTP password and HTTP token, from the OS keyring or the environment
"""
