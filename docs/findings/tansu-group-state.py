#!/usr/bin/env python3
"""Prints what the tansu broker's group coordinator has stored for each
consumer group: its generation and state, its members, and the partitions
its stored assignment gives each member id. Read-only.

    B=$(docker ps --filter label=faultline.service=broker -q)
    docker cp $B:/var/lib/tansu/data/. /tmp/tansu/
    python3 docs/findings/tansu-group-state.py /tmp/tansu/tansu.db
"""
import json
import sqlite3
import struct
import sys


def partitions(assignment):
    """Decodes a ConsumerProtocolAssignment: version, [topic, [partition]]."""
    b = bytes(assignment)
    (topics,) = struct.unpack(">i", b[2:6])
    at, out = 6, []
    for _ in range(topics):
        (n,) = struct.unpack(">h", b[at:at + 2])
        at += 2
        topic = b[at:at + n].decode()
        at += n
        (count,) = struct.unpack(">i", b[at:at + 4])
        at += 4
        out.append((topic, [struct.unpack(">i", b[at + 4 * i:at + 4 * i + 4])[0] for i in range(count)]))
        at += 4 * count
    return out


db = sqlite3.connect(sys.argv[1] if len(sys.argv) > 1 else "tansu.db")
for (detail,) in db.execute("SELECT detail FROM consumer_group_detail"):
    d = json.loads(detail)
    state, body = next(iter(d["state"].items()))
    print(f"generation {d['generation_id']}, state {state}, leader {body.get('leader')}")
    print("members:", ", ".join(d["members"]))
    for member, assignment in body.get("assignments", {}).items():
        ghost = "" if member in d["members"] else "   <- not a member"
        print(f"  {member}: {partitions(assignment)}{ghost}")
