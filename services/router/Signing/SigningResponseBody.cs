using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Aspire.Router.Signing;

/// <summary>The response body feature of a signed <c>/v1/*</c> response: writes go through a <see cref="SigningPipeWriter"/>.</summary>
internal sealed class SigningResponseBody(IHttpResponseBodyFeature inner, HttpResponse response, ResponseSigner signer) : IHttpResponseBodyFeature
{
    private readonly SigningPipeWriter _writer = new(inner.Writer, response, signer);
    private Stream? _stream;
    private bool _finished;

    /// <inheritdoc />
    public Stream Stream => _stream ??= _writer.AsStream(leaveOpen: true);

    /// <inheritdoc />
    public PipeWriter Writer => _writer;

    /// <inheritdoc />
    public void DisableBuffering() => inner.DisableBuffering();

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken = default) =>
        _writer.MayStart ? inner.StartAsync(cancellationToken) : Task.CompletedTask;

    /// <inheritdoc />
    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        SendFileFallback.SendFileAsync(Stream, path, offset, count, cancellationToken);

    /// <inheritdoc />
    public async Task CompleteAsync()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        await _writer.FinishAsync(response.HttpContext.RequestAborted);
        await inner.CompleteAsync();
    }
}
