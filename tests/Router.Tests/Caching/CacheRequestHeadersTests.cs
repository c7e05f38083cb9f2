using Gateway.Aspire.Router.Caching;
using Gateway.Aspire.Router.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.Aspire.Router.Tests.Caching;

public sealed class CacheRequestHeadersTests
{
    private static readonly ModelCacheConfig s_modelCache = new() { Ttl = TimeSpan.FromSeconds(600) };

    private static CacheRequestHeaders Parse(params (string Name, string Value)[] headers)
    {
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers)
        {
            dictionary.Append(name, value);
        }

        Assert.True(CacheRequestHeaders.TryParse(dictionary, out var parsed, out var error), error);
        return parsed;
    }

    [Fact]
    public void Off_ByDefault_WithoutModelCacheOrHeader()
    {
        Assert.Equal(CachePlan.Off, Parse().Resolve(model: null));
        Assert.False(CachePlan.Off.Applies);
    }

    [Fact]
    public void ModelCache_ReadsAndWrites_WithItsTtl_AndTheHeaderOverridesIt()
    {
        Assert.Equal(new CachePlan(true, true, TimeSpan.FromSeconds(600)), Parse().Resolve(s_modelCache));
        Assert.Equal(new CachePlan(true, true, TimeSpan.FromSeconds(60)), Parse(("x-gateway-cache-ttl", "60")).Resolve(s_modelCache));
        Assert.Equal(TimeSpan.FromSeconds(3600), Parse().Resolve(new ModelCacheConfig()).Ttl);
    }

    [Fact]
    public void TtlHeader_TurnsTheCacheOnForAModelWithout()
    {
        Assert.Equal(new CachePlan(true, true, TimeSpan.FromSeconds(30)), Parse(("X-Gateway-Cache-TTL", " 30 ")).Resolve(model: null));
    }

    [Theory]
    [InlineData("no-store")]
    [InlineData("No-Store")]
    [InlineData("max-age=0, no-store")]
    public void NoStore_NeitherReadsNorWrites_EvenWithATtl(string cacheControl)
    {
        Assert.Equal(CachePlan.Off, Parse(("Cache-Control", cacheControl)).Resolve(s_modelCache));
        Assert.Equal(CachePlan.Off, Parse(("Cache-Control", cacheControl), ("x-gateway-cache-ttl", "60")).Resolve(null));
    }

    [Fact]
    public void NoCache_SkipsTheLookup_ButStoresTheAnswer()
    {
        var plan = Parse(("Cache-Control", "no-cache")).Resolve(s_modelCache);

        Assert.Equal(new CachePlan(Read: false, Write: true, TimeSpan.FromSeconds(600)), plan);
        Assert.True(plan.Applies);
        // Alone (no TTL header, no model cache), no-cache turns nothing on.
        Assert.Equal(CachePlan.Off, Parse(("Cache-Control", "no-cache")).Resolve(null));
    }

    [Fact]
    public void CacheControl_InTwoHeaderLines_IsReadWhole()
    {
        Assert.False(Parse(("Cache-Control", "max-age=10"), ("Cache-Control", "no-cache")).Resolve(s_modelCache).Read);
    }

    [Fact]
    public void UnreadableCacheControl_IsIgnored()
    {
        Assert.Equal(new CachePlan(true, true, TimeSpan.FromSeconds(600)), Parse(("Cache-Control", "\"")).Resolve(s_modelCache));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("2592001")]
    [InlineData("99999999999999999999")]
    public void BadTtl_IsAClearError_NotAnException(string ttl)
    {
        var headers = new HeaderDictionary { ["x-gateway-cache-ttl"] = ttl };

        Assert.False(CacheRequestHeaders.TryParse(headers, out _, out var error));
        Assert.StartsWith("'x-gateway-cache-ttl' must be a whole number of seconds from 1 to 2592000 (got '", error, StringComparison.Ordinal);
        Assert.Equal("invalid_cache_ttl", CacheRequestHeaders.InvalidTtlCode);
    }

    [Fact]
    public void TwoTtlHeaders_AreAnError()
    {
        var headers = new HeaderDictionary { ["x-gateway-cache-ttl"] = new(["60", "120"]) };

        Assert.False(CacheRequestHeaders.TryParse(headers, out _, out var error));
        Assert.Contains("(got '60,120')", error, StringComparison.Ordinal);
    }
}
