# tests/cutproxy.py: a TCP proxy on 127.0.0.1 in front of a server, for the
# tests. While the file "cut" exists, the server's next answer is not passed
# on: the client's connection is closed instead (the file is then removed),
# as a network that fails right after the server committed. The file
# "cut-insert" does the same to the next answer that reports an INSERT.
# usage: cutproxy.py PORTFILE HOST PORT
import os, select, socket, sys

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
pairs = {}   # socket -> its other end
servers = set()
while True:
    ready, _, _ = select.select([listener] + list(pairs), [], [])
    for s in ready:
        if s is listener:
            client, _ = listener.accept()
            server = socket.create_connection((sys.argv[2], int(sys.argv[3])))
            pairs[client], pairs[server] = server, client
            servers.add(server)
            continue
        if s not in pairs:
            continue
        data = s.recv(65536)
        other = pairs[s]
        if data and s in servers and os.path.exists("cut"):
            os.remove("cut")
            data = b""
        if data and s in servers and os.path.exists("cut-insert") and b"INSERT 0 1" in data:
            os.remove("cut-insert")
            data = b""
        if not data:
            for end in (s, other):
                pairs.pop(end, None)
                servers.discard(end)
                end.close()
            continue
        other.sendall(data)
