using Gateway.Aspire.Router.Caching;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Router.Tests.Caching;

public sealed class ResponseLruTests
{
    private readonly FakeTimeProvider _time = new(CacheEntries.Now);

    [Fact]
    public void Entry_IsServedUntilItsExpiry_ThenDropped()
    {
        var lru = new ResponseLru(10, 1 << 20, _time);
        lru.Set("k", CacheEntries.Json(ttl: TimeSpan.FromSeconds(60)));

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(lru.TryGet("k", out _));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(lru.TryGet("k", out _));
        Assert.Equal(0, lru.Count);
    }

    [Fact]
    public void BeyondItsEntryCount_TheLeastRecentlyUsedGoes()
    {
        var lru = new ResponseLru(3, 1 << 20, _time);
        lru.Set("a", CacheEntries.Json());
        lru.Set("b", CacheEntries.Json());
        lru.Set("c", CacheEntries.Json());
        Assert.True(lru.TryGet("a", out _)); // a is now the most recently used; b the least

        lru.Set("d", CacheEntries.Json());

        Assert.Equal(3, lru.Count);
        Assert.False(lru.TryGet("b", out _));
        Assert.True(lru.TryGet("a", out _));
        Assert.True(lru.TryGet("c", out _));
        Assert.True(lru.TryGet("d", out _));
    }

    [Fact]
    public void BeyondItsBytes_OldEntriesGo_AndAnEntryLargerThanAllIsNotKept()
    {
        var body = new string('x', 1000);
        var lru = new ResponseLru(100, 3 * (1000 + ResponseLru.EntryOverhead), _time);
        lru.Set("a", CacheEntries.Json(body));
        lru.Set("b", CacheEntries.Json(body));
        lru.Set("c", CacheEntries.Json(body));
        lru.Set("d", CacheEntries.Json(body));

        Assert.Equal(3, lru.Count);
        Assert.False(lru.TryGet("a", out _));

        lru.Set("huge", CacheEntries.Json(new string('x', 4000)));
        Assert.False(lru.TryGet("huge", out _));
        Assert.Equal(3, lru.Count);
    }

    [Fact]
    public void SettingAKeyAgain_ReplacesItsEntry()
    {
        var lru = new ResponseLru(10, 1 << 20, _time);
        lru.Set("k", CacheEntries.Json("{\"v\":1}"));
        lru.Set("k", CacheEntries.Json("{\"v\":2}"));

        Assert.True(lru.TryGet("k", out var entry));
        Assert.Equal("{\"v\":2}"u8.ToArray(), entry.Body.ToArray());
        Assert.Equal(1, lru.Count);
    }

    [Fact]
    public void ZeroEntries_DisablesIt()
    {
        var lru = new ResponseLru(0, 1 << 20, _time);
        lru.Set("k", CacheEntries.Json());

        Assert.False(lru.TryGet("k", out _));
    }
}
