# check: check_prediction("02-event-bytes", prediction, measured)
from sse_lab.protocol import encode_event

# "id: 5\n" (6) + "data: " (6) + 助 (3 bytes in UTF-8) + "\n" (1) + blank line "\n" (1)
prediction = 6 + 6 + 3 + 1 + 1

measured = len(encode_event("助", id="5"))
