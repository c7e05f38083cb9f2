using System.Text;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Caching;

namespace Gateway.Aspire.Router.Tests.Caching;

public sealed class EventStreamEndTests
{
    [Theory]
    [InlineData("data: {\"choices\":[]}\n\ndata: [DONE]\n\n")]
    [InlineData("data: {\"choices\":[]}\r\n\r\ndata: [DONE]\r\n\r\n")]
    [InlineData("data: {\"choices\":[]}\n\ndata: [DONE]")]
    [InlineData("event: message_delta\ndata: {\"type\":\"message_delta\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")]
    [InlineData("data: {\"type\":\"message_stop\"}\n\n")]
    public void ClientFormatTerminators_AreComplete(string stream)
    {
        Assert.True(EventStreamEnd.LooksComplete(Encoding.UTF8.GetBytes(stream)));
    }

    [Theory]
    [InlineData("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n")]
    [InlineData("data: [DONE]\n\ndata: {\"choices\":[]}\n\n")]
    [InlineData("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"message_stop\"}}\n\n")]
    [InlineData("")]
    public void StreamsCutShort_AreNot(string stream)
    {
        Assert.False(EventStreamEnd.LooksComplete(Encoding.UTF8.GetBytes(stream)));
    }
}

public sealed class CacheTenantTests
{
    [Fact]
    public void Tenant_IsTheVirtualAccountsTokenId_NotItsSharedName()
    {
        Assert.Equal("virtualaccount:t-1", CacheTenant.Of(new Identity { TokenId = "t-1", TokenName = "ci" }));
        Assert.NotEqual(CacheTenant.Of(new Identity { TokenId = "t-1", TokenName = "ci" }), CacheTenant.Of(new Identity { TokenId = "t-2", TokenName = "ci" }));
        Assert.Null(CacheTenant.Of(new Identity { TokenName = "ci" }));
        Assert.Null(CacheTenant.Of(null));
    }
}
