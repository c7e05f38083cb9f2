using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Tokens;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Policy.Tests.Admission;

public sealed class TokenCacheTests
{
    private static readonly TokenRecord Record = new(Guid.NewGuid(), "ci", [], null);

    [Fact]
    public void Entries_LiveOneSecond()
    {
        var time = new FakeTimeProvider();
        var cache = new TokenCache(time);
        cache.Set("aa", Record);

        Assert.True(cache.TryGet("aa", out var hit));
        Assert.Same(Record, hit);

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.True(cache.TryGet("aa", out _));

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(cache.TryGet("aa", out _));
    }

    [Fact]
    public void UnknownTokens_AreCachedAsNull()
    {
        var cache = new TokenCache(new FakeTimeProvider());
        cache.Set("bb", null);

        Assert.True(cache.TryGet("bb", out var hit));
        Assert.Null(hit);
        Assert.False(cache.TryGet("cc", out _));
    }

    [Fact]
    public void Capacity_BoundsTheMap()
    {
        var cache = new TokenCache(new FakeTimeProvider());
        for (var i = 0; i <= TokenCache.Capacity; i++)
        {
            cache.Set(i.ToString(System.Globalization.CultureInfo.InvariantCulture), null);
        }

        // The write beyond capacity cleared the map first, then stored itself.
        Assert.False(cache.TryGet("0", out _));
        Assert.True(cache.TryGet(TokenCache.Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture), out _));
    }
}
