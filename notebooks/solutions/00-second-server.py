# check: check_second_server(server2, stats2, server)
import json
import urllib.request

from sse_lab.server import start_server

# The source article's Express server listens on 1314; fall back to any free
# port if something else already holds it.
try:
    server2 = start_server(port=1314)
except OSError:
    server2 = start_server(port=0)

with urllib.request.urlopen(server2.url + "/stats", timeout=5) as response:
    stats2 = json.loads(response.read())

print(server2, stats2)
