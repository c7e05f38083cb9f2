using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.ServiceDefaults.Grpc;

/// <summary>Source-generated log messages of <see cref="GrpcServiceChannels"/>.</summary>
internal static partial class GrpcChannelsLog
{
    [LoggerMessage(EventId = 940, EventName = "GrpcChannelCreated", Level = LogLevel.Information,
        Message = "gRPC service {Service} resolved to {Address}; its calls go over one channel to that address")]
    public static partial void ChannelCreated(ILogger logger, string service, Uri address);

    [LoggerMessage(EventId = 941, EventName = "GrpcSeveralEndpoints", Level = LogLevel.Warning,
        Message = "gRPC service {Service} has {Count} endpoints configured; only the first is used (put a load balancer or one service name in front of replicas)")]
    public static partial void SeveralEndpoints(ILogger logger, string service, int count);
}
