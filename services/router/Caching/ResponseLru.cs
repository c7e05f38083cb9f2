namespace Gateway.Aspire.Router.Caching;

/// <summary>
/// The small in-process cache in front of Redis: least recently used first out, bounded by entry
/// count and by bytes, entries expiring at their own <see cref="CachedResponse.ExpiresAt"/> on the
/// injected clock. Thread-safe.
/// </summary>
/// <remarks>
/// Written by hand rather than on Microsoft.Extensions.Caching.Memory because (1) at its
/// <c>SizeLimit</c> MemoryCache refuses the new entry and compacts later on a background thread,
/// so a full cache drops the newest answer instead of the least recently used one; (2) it bounds
/// one measure, and we need both count and bytes (1,000 answers of 1 MiB would be a gigabyte);
/// (3) its clock is <c>ISystemClock</c>, not the <see cref="TimeProvider"/> the tests control.
/// A dictionary plus a linked list under one lock is all an LRU needs; entries are looked up once
/// per request, so the lock is not contended at gateway rates.
/// </remarks>
internal sealed class ResponseLru(int maxEntries, long maxBytes, TimeProvider time)
{
    /// <summary>Bytes counted per entry on top of its body (keys, strings, bookkeeping).</summary>
    internal const int EntryOverhead = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Slot>> _slots = new(StringComparer.Ordinal);
    private readonly LinkedList<Slot> _recency = new(); // most recently used first
    private long _bytes;

    /// <summary>Entries held (expired ones included until they are touched or evicted).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _slots.Count;
            }
        }
    }

    /// <summary>The live entry under <paramref name="key"/>, made the most recently used; an expired one is dropped.</summary>
    public bool TryGet(string key, out CachedResponse response)
    {
        lock (_lock)
        {
            if (_slots.TryGetValue(key, out var node))
            {
                if (node.Value.Response.ExpiresAt > time.GetUtcNow())
                {
                    _recency.Remove(node);
                    _recency.AddFirst(node);
                    response = node.Value.Response;
                    return true;
                }

                Drop(node);
            }
        }

        response = null!;
        return false;
    }

    /// <summary>Keeps <paramref name="response"/> under <paramref name="key"/>, evicting the least recently used beyond the bounds.</summary>
    public void Set(string key, CachedResponse response)
    {
        var size = response.Body.Length + EntryOverhead;
        if (maxEntries <= 0 || size > maxBytes)
        {
            return;
        }

        lock (_lock)
        {
            if (_slots.TryGetValue(key, out var existing))
            {
                Drop(existing);
            }

            _slots[key] = _recency.AddFirst(new Slot(key, response, size));
            _bytes += size;
            while (_slots.Count > maxEntries || _bytes > maxBytes)
            {
                Drop(_recency.Last!);
            }
        }
    }

    private void Drop(LinkedListNode<Slot> node)
    {
        _recency.Remove(node);
        _slots.Remove(node.Value.Key);
        _bytes -= node.Value.Size;
    }

    private sealed record Slot(string Key, CachedResponse Response, int Size);
}
