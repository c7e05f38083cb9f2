using System.Diagnostics;
using System.Text;

namespace Gateway.Aspire.AppHost.Tests;

/// <summary>
/// A child process's stdout and stderr so far, interleaved as they arrive. Both streams append on
/// their own threads while the test reads, and StringBuilder is not safe for that, so reads take
/// the same lock as writes.
/// </summary>
internal sealed class ProcessOutput
{
    private readonly StringBuilder _text = new();

    /// <summary>Starts reading both streams of <paramref name="process"/> (started with both redirected).</summary>
    public static ProcessOutput Collect(Process process)
    {
        var output = new ProcessOutput();
        void Append(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                output.AppendLine(e.Data);
            }
        }

        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return output;
    }

    /// <summary>Appends one line.</summary>
    public void AppendLine(string line)
    {
        lock (_text)
        {
            _text.AppendLine(line);
        }
    }

    /// <inheritdoc />
    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }
}
