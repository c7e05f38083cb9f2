using System.Collections.Concurrent;
using Gateway.Aspire.Policy.Tokens;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// The first tier of token lookups: a small in-process map from token hash to record (or to
/// "no such token"), each entry living at most <see cref="Lifetime"/>. The short life is the
/// revocation promise: a revoke deletes the Redis entry, and every replica forgets its copy within
/// a second. Hand-written rather than <c>MemoryCache</c> so expiry follows the injected
/// <see cref="TimeProvider"/> and a hit costs one dictionary read.
/// </summary>
public sealed class TokenCache(TimeProvider time)
{
    /// <summary>How long an entry is trusted.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(1);

    /// <summary>Entries kept at most; beyond that the map is cleared (a flood of distinct keys must not grow memory).</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether <paramref name="hashHex"/> is cached; <paramref name="record"/> is null for a cached
    /// "unknown token".
    /// </summary>
    public bool TryGet(string hashHex, out TokenRecord? record) => TryGet(hashHex.AsSpan(), out record);

    /// <summary>As <see cref="TryGet(string, out TokenRecord?)"/> without a string: a hit (nearly every admission) allocates nothing.</summary>
    public bool TryGet(ReadOnlySpan<char> hashHex, out TokenRecord? record)
    {
        var lookup = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(hashHex, out var key, out var entry))
        {
            if (entry.ExpiresAt > time.GetUtcNow())
            {
                record = entry.Record;
                return true;
            }

            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        }

        record = null;
        return false;
    }

    /// <summary>Caches <paramref name="record"/> (null: unknown token) for <see cref="Lifetime"/>.</summary>
    public void Set(string hashHex, TokenRecord? record)
    {
        if (_entries.Count >= Capacity)
        {
            // Crude but bounded: entries live a second anyway, so dropping them all costs at most
            // one Redis read per live token.
            _entries.Clear();
        }

        _entries[hashHex] = new Entry(record, time.GetUtcNow() + Lifetime);
    }

    /// <summary>Forgets <paramref name="hashHex"/> on this replica.</summary>
    public void Remove(string hashHex) => _entries.TryRemove(hashHex, out _);

    private sealed record Entry(TokenRecord? Record, DateTimeOffset ExpiresAt);
}
