"""Reading big log files from the end (and, bounded, from the start).

Parsl writes its start message near the top of parsl.log and its end message near
the bottom; a long workflow's log can be gigabytes in between. We read blocks
backwards from the end up to a byte budget, and the head up to a budget, so time
and memory stay flat however big the file grows.
"""

BLOCK = 64 * 1024
#: How far from each end we look. Parsl's usage lines sit within the first and last
#: few kilobytes of a run's log; 4 MiB leaves plenty of room for chatty executors.
DEFAULT_BUDGET = 4 * 1024 * 1024
#: Lines longer than this are not usage messages we can decode; they are skipped.
MAX_LINE = 1024 * 1024


class Line:
    __slots__ = ("offset", "data", "number")

    def __init__(self, offset, data, number=None):
        self.offset = offset    # byte offset of the line's start
        self.data = data        # bytes, without the newline
        self.number = number    # 1-based line number when known

    def __repr__(self):
        return "Line(%d, %r)" % (self.offset, self.data[:60])


def lines_backward(handle, size, budget=DEFAULT_BUDGET, block=BLOCK, numbered=True):
    """Yield complete lines from the end of ``handle`` towards the start, newest first.

    Stops after ``budget`` bytes. The first (partial) line at the budget edge is
    dropped, since we can't know where it starts. ``Line.number`` is filled only when
    the reader reached the start of the file (then every line number is known): the
    generator's return value says whether it did.
    """
    end = size
    pos = size
    carry = b""
    floor = max(0, size - budget)
    pending = []
    reached_start = floor == 0
    keep = reached_start and numbered
    while pos > floor:
        step = min(block, pos - floor)
        pos -= step
        handle.seek(pos)
        chunk = handle.read(step)
        if len(chunk) != step:  # the file shrank under us; stop rather than misparse
            return False
        buf = chunk + carry
        parts = buf.split(b"\n")
        carry = parts[0]
        offset = pos + len(parts[0]) + 1
        found = []
        for part in parts[1:]:
            found.append(Line(offset, part))
            offset += len(part) + 1
        for line in reversed(found):
            if line.offset >= end:
                continue  # the empty piece after a final newline
            if len(line.data) <= MAX_LINE:
                if keep:
                    pending.append(line)
                else:
                    yield line
        if len(carry) > MAX_LINE:
            carry = carry[-MAX_LINE - 1:]  # an absurd line: keep memory flat, it is dropped anyway
    if reached_start and not numbered:
        if pos == 0 and carry and len(carry) <= MAX_LINE:
            yield Line(0, carry)
    elif reached_start:
        if pos == 0 and carry and len(carry) <= MAX_LINE:
            pending.append(Line(0, carry))
        total = len(pending)
        for index, line in enumerate(pending):
            line.number = total - index
            yield line
    return reached_start


def lines_forward(handle, start, stop, block=BLOCK):
    """Yield complete lines between byte offsets ``start`` and ``stop`` (bounded reads).

    A trailing piece without a newline is not yielded (it may still be being written);
    the generator returns the offset just after the last complete line.
    """
    pos = start
    handle.seek(start)
    carry = b""
    carry_at = start
    while pos < stop:
        chunk = handle.read(min(block, stop - pos))
        if not chunk:
            break
        pos += len(chunk)
        buf = carry + chunk
        parts = buf.split(b"\n")
        carry = parts.pop()
        offset = carry_at
        for part in parts:
            if len(part) <= MAX_LINE:
                yield Line(offset, part)
            offset += len(part) + 1
        carry_at = offset
        if len(carry) > MAX_LINE:
            # Skip the rest of an absurd line without keeping it.
            carry = b""
            carry_at = pos
    return carry_at
