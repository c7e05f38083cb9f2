using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>
/// A mail server on loopback that speaks enough SMTP (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT,
/// DATA with dot-unstuffing, RSET, NOOP, QUIT) for a real client to deliver to it, and records every
/// accepted message with its envelope. It can refuse the next transactions with a scripted reply at
/// <c>MAIL FROM</c> (e.g. greylisting's 451) and refuse chosen recipients at <c>RCPT TO</c> (550).
/// </summary>
/// <remarks>
/// Written for the tests because neither SmtpServer nor netDumbster is on our package feed; a real
/// protocol exchange over TCP is what the sender must get right, so no mock of the client stands in.
/// </remarks>
internal sealed class SmtpReceiver : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _mailReplies = new();
    private readonly ConcurrentDictionary<string, string> _recipientReplies = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<ReceivedMail> _messages = new();
    private readonly Task _accepting;
    private int _transactions;

    private SmtpReceiver()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many transactions (<c>MAIL FROM</c> commands) clients began, refused ones included.</summary>
    public int Transactions => Volatile.Read(ref _transactions);

    /// <summary>The messages accepted, in order.</summary>
    public IReadOnlyList<ReceivedMail> Messages => [.. _messages];

    public static SmtpReceiver Start() => new();

    /// <summary>Answers the next <paramref name="count"/> <c>MAIL FROM</c> commands with <paramref name="reply"/> (e.g. <c>451 4.7.1 try later</c>).</summary>
    public void RefuseNextTransactions(int count, string reply)
    {
        for (var i = 0; i < count; i++)
        {
            _mailReplies.Enqueue(reply);
        }
    }

    /// <summary>Answers <c>RCPT TO</c> for <paramref name="address"/> with <paramref name="reply"/> (e.g. <c>550 5.1.1 no such user</c>).</summary>
    public void RefuseRecipient(string address, string reply) => _recipientReplies[address] = reply;

    /// <summary>Waits (up to 15 s, polling) until <paramref name="predicate"/> holds for at least <paramref name="count"/> messages.</summary>
    public async Task<IReadOnlyList<ReceivedMail>> WaitForAsync(int count, Func<ReceivedMail, bool>? predicate = null)
    {
        predicate ??= _ => true;
        for (var i = 0; i < 300 && Messages.Count(predicate) < count; i++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return [.. Messages.Where(predicate)];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            await using var stream = client.GetStream();
            // SMTP commands are ASCII; message bytes are kept as Latin-1 so every byte survives to the MIME parser.
            using var reader = new StreamReader(stream, Encoding.Latin1);
            await using var writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 localhost ESMTP test receiver");
            string? from = null;
            var to = new List<string>();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var verb = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO" or "HELO":
                        await writer.WriteLineAsync("250 localhost");
                        break;
                    case "MAIL":
                        Interlocked.Increment(ref _transactions);
                        if (_mailReplies.TryDequeue(out var refusal))
                        {
                            await writer.WriteLineAsync(refusal);
                            break;
                        }

                        (from, to) = (Address(line), []);
                        await writer.WriteLineAsync("250 2.1.0 OK");
                        break;
                    case "RCPT":
                        var recipient = Address(line);
                        if (_recipientReplies.TryGetValue(recipient, out var reply))
                        {
                            await writer.WriteLineAsync(reply);
                            break;
                        }

                        to.Add(recipient);
                        await writer.WriteLineAsync("250 2.1.5 OK");
                        break;
                    case "DATA" when from is not null && to.Count > 0:
                        await writer.WriteLineAsync("354 end data with <CR><LF>.<CR><LF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(_stop.Token) is { } dataLine && dataLine != ".")
                        {
                            data.Append(dataLine.StartsWith('.') ? dataLine[1..] : dataLine).Append("\r\n");
                        }

                        using (var body = new MemoryStream(Encoding.Latin1.GetBytes(data.ToString())))
                        {
                            _messages.Enqueue(new ReceivedMail(from, [.. to], await MimeMessage.LoadAsync(body, _stop.Token)));
                        }

                        (from, to) = (null, []);
                        await writer.WriteLineAsync("250 2.0.0 queued");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("503 5.5.1 no valid recipients");
                        break;
                    case "RSET":
                        (from, to) = (null, []);
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "NOOP":
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 2.0.0 bye");
                        return;
                    default:
                        await writer.WriteLineAsync("502 5.5.2 command not implemented");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client hung up, or the receiver is stopping.
        }
    }

    // "MAIL FROM:<a@b> SIZE=12" -> "a@b"
    private static string Address(string command)
    {
        var start = command.IndexOf('<', StringComparison.Ordinal);
        var end = command.IndexOf('>', start + 1);
        return start >= 0 && end > start ? command[(start + 1)..end] : "";
    }
}

/// <summary>One accepted message: the envelope and the parsed message.</summary>
internal sealed record ReceivedMail(string From, IReadOnlyList<string> To, MimeMessage Message);
