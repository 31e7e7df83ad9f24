"""The words of a submission's status in the ledger, as the office uses them (importing them loads no database)."""

TO_CORRECT, TO_REVIEW, UNREADABLE = "待补正", "待审", "无法读取"  # read and checked: errors found, clean, unreadable
APPROVED, REJECTED = "通过", "不予通过"  # decided
RESUBMITTED = "已重新提交"  # replaced by a corrected resubmission of the same applicant before anyone decided
STATUSES = (TO_CORRECT, TO_REVIEW, UNREADABLE, APPROVED, REJECTED, RESUBMITTED)
OPEN = (TO_CORRECT, TO_REVIEW)  # awaiting a decision
VERDICTS = (APPROVED, REJECTED)
