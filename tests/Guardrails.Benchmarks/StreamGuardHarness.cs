extern alias RouterApp;

using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Extensions;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RouterGrpc = RouterApp::Gateway.Aspire.Guardrails.Grpc;

namespace Gateway.Aspire.Guardrails.Benchmarks;

/// <summary>
/// A streamed answer through the router's output guard (<c>OutputStreamGuard</c>) against the real
/// guardrails service over loopback gRPC (HTTP/2, in this process): 200 OpenAI chat deltas of the
/// 1 KB support prompt (an e-mail, a phone, a card, an IP, a key), handed to the guard as the
/// upstream reads would deliver them, <c>deltasPerRead</c> events per read. The rules are the
/// issue's usual output pair: pii <c>mask</c> with <c>restore</c>, and a keyword <c>deny_list</c>.
/// Counts the <c>CheckStream</c> messages the router sends after the context: each one waits for
/// its verdict, so that is the number of round trips.
/// </summary>
internal sealed class StreamGuardHarness : IAsyncDisposable
{
    /// <summary>Deltas per stream.</summary>
    public const int Deltas = 200;

    private const string Rules = """
        type: gateway-guardrails-config
        name: bench
        rules:
          - id: pii
            output:
              - { check: pii, action: mask, restore: true }
          - id: safety
            output:
              - { check: deny_list, action: block, name: codenames, keywords: [Project Falcon] }
        """;

    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;
    private readonly MessageCounter _counter = new();
    private readonly RouterGrpc.Guardrails.GuardrailsClient _client;
    private readonly string _configPath;

    private StreamGuardHarness(WebApplication app, string url, string configPath)
    {
        _app = app;
        _configPath = configPath;
        _channel = GrpcChannel.ForAddress(url);
        _client = new RouterGrpc.Guardrails.GuardrailsClient(_channel.Intercept(_counter));
    }

    /// <summary>Starts the guardrails service on a free loopback port.</summary>
    public static async Task<StreamGuardHarness> StartAsync()
    {
        var configPath = Path.Combine(Path.GetTempPath(), $"gateway-streambench-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(configPath, Rules);
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["GATEWAY_CONFIG"] = configPath;
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.AddApplicationServices();
        var app = builder.Build();
        app.MapGrpcService<GuardrailsService>();
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StreamGuardHarness(app, url, configPath);
    }

    /// <summary>The upstream reads of one stream: <see cref="Deltas"/> chat chunks, the finishing chunk and <c>[DONE]</c>, <paramref name="deltasPerRead"/> events per read.</summary>
    public static byte[][] Reads(int deltasPerRead)
    {
        var text = Prompts.Support;
        var events = new List<string>();
        for (var i = 0; i < Deltas; i++)
        {
            var piece = text[(i * text.Length / Deltas)..((i + 1) * text.Length / Deltas)];
            events.Add(Chunk($"{{\"content\":{JsonSerializer.Serialize(piece)}}}", "null"));
        }

        events.Add(Chunk("{}", "\"stop\""));
        events.Add("data: [DONE]\n\n");
        return [.. events.Chunk(deltasPerRead).Select(read => Encoding.UTF8.GetBytes(string.Concat(read)))];

        static string Chunk(string delta, string finish) =>
            $"data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n";
    }

    /// <summary>Streams <paramref name="reads"/> through a new guard; returns the round trips it took and the bytes the client got.</summary>
    public async Task<(int RoundTrips, long Bytes)> RunAsync(byte[][] reads)
    {
        var context = new RouterGrpc.CheckOutputRequest { RequestId = "bench", Model = "bench/m", Api = "/v1/chat/completions" };
        context.Placeholders.Add("[EMAIL_1]", "maria.lopez@example.org");
        var sink = new CountingStream();
        var output = PipeWriter.Create(sink);
        var before = _counter.Sent;
        await using (var guard = new RouterApp::Gateway.Aspire.Router.Forwarding.OutputStreamGuard(
            _client, context, RouterApp::Gateway.Aspire.Router.Providers.WireFormat.OpenAi, TimeSpan.FromSeconds(10), CancellationToken.None))
        {
            foreach (var read in reads)
            {
                if (!await guard.WriteAsync(read, output))
                {
                    throw new InvalidOperationException($"The guard ended the stream: {guard.StopCode} {guard.StopMessage}");
                }

                await output.FlushAsync();
            }

            guard.Complete(output);
        }

        await output.FlushAsync();
        return (_counter.Sent - before - 1, sink.Length); // the first message is the context
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        File.Delete(_configPath);
    }

    /// <summary>Counts the messages the client writes on its streaming calls.</summary>
    private sealed class MessageCounter : Interceptor
    {
        private int _sent;

        public int Sent => Volatile.Read(ref _sent);

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            var call = continuation(context);
            return new AsyncDuplexStreamingCall<TRequest, TResponse>(
                new CountingWriter<TRequest>(call.RequestStream, () => Interlocked.Increment(ref _sent)),
                call.ResponseStream, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
        }
    }

    private sealed class CountingWriter<T>(IClientStreamWriter<T> inner, Action counted) : IClientStreamWriter<T>
    {
        public WriteOptions? WriteOptions
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        public Task WriteAsync(T message)
        {
            counted();
            return inner.WriteAsync(message);
        }

        public Task WriteAsync(T message, CancellationToken cancellationToken)
        {
            counted();
            return inner.WriteAsync(message, cancellationToken);
        }

        public Task CompleteAsync() => inner.CompleteAsync();
    }

    /// <summary>The client's side of the response: counts bytes, keeps none.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => _length += count;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _length += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
