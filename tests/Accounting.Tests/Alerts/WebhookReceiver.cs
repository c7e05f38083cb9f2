using System.Collections.Concurrent;
using System.Text.Json;
using Gateway.Aspire.Hosting.Servers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>
/// A local webhook (Kestrel on loopback) that records every POST per path and answers 500 to the
/// first <c>failures</c> calls of a path configured with <see cref="FailFirst"/>, 200 after.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<JsonElement>> _calls = new();
    private readonly ConcurrentDictionary<string, int> _failuresLeft = new();

    private WebhookReceiver(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The base URL (<c>http://127.0.0.1:port</c>).</summary>
    public string Url { get; }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, url);
        app.MapPost("/{**path}", async (HttpContext context) =>
        {
            var path = context.Request.Path.Value ?? "";
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            receiver._calls.GetOrAdd(path, _ => new ConcurrentQueue<JsonElement>()).Enqueue(body.RootElement.Clone());
            var fail = receiver._failuresLeft.TryGetValue(path, out var left) && left > 0 && receiver._failuresLeft.TryUpdate(path, left - 1, left);
            return fail ? Results.StatusCode(500) : Results.Ok();
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return receiver;
    }

    /// <summary>Makes the first <paramref name="failures"/> calls to <paramref name="path"/> answer 500.</summary>
    public void FailFirst(string path, int failures) => _failuresLeft[path] = failures;

    /// <summary>The bodies POSTed to <paramref name="path"/>, in order.</summary>
    public IReadOnlyList<JsonElement> Calls(string path) => _calls.TryGetValue(path, out var calls) ? [.. calls] : [];

    /// <summary>Waits (up to 15 s, polling) until <paramref name="path"/> has at least <paramref name="count"/> calls.</summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForAsync(string path, int count)
    {
        for (var i = 0; i < 300 && Calls(path).Count < count; i++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return Calls(path);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
