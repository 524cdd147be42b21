"""English formats with times to the second (Django's are "Nov. 30, 2026, 4:33 a.m."): every admin
list and page shows 2026-11-30 16:33:07, so two events a few seconds apart read apart."""

DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
