using Gateway.Aspire.Router.Caching;

namespace Gateway.Aspire.Router.Tests.Caching;

public sealed class CacheEnvelopeTests
{
    [Fact]
    public void Envelope_RoundTripsEveryField()
    {
        var entry = CacheEntries.Json("{\"é\":\"ü\"}") with { Form = ResponseForm.EventStreamWithUsage, StatusCode = 201, ContentType = "text/event-stream; charset=utf-8" };

        var decoded = CacheEnvelope.Decode(CacheEnvelope.Encode(entry));

        Assert.NotNull(decoded);
        Assert.Equal(entry with { Body = default }, decoded with { Body = default });
        Assert.Equal(entry.Body.ToArray(), decoded.Body.ToArray());
    }

    [Fact]
    public void DamagedOrForeignValues_DecodeToNull()
    {
        var value = CacheEnvelope.Encode(CacheEntries.Json());

        Assert.Null(CacheEnvelope.Decode(value.AsMemory(0, value.Length - 1)));   // truncated
        Assert.Null(CacheEnvelope.Decode(value.AsMemory(0, 10)));
        Assert.Null(CacheEnvelope.Decode("{\"json\":true}"u8.ToArray()));
        var otherVersion = (byte[])value.Clone();
        otherVersion[0] = 2;
        Assert.Null(CacheEnvelope.Decode(otherVersion));
        var badForm = (byte[])value.Clone();
        badForm[1] = (byte)'x';
        Assert.Null(CacheEnvelope.Decode(badForm));
    }
}
