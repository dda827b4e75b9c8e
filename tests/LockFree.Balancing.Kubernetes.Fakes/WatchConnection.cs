using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace LockFree.Balancing.Kubernetes.Fakes;

/// <summary>One open WATCH on the fake server; the test decides what it sends and how it ends.</summary>
public sealed class WatchConnection
{
    private readonly Channel<Func<HttpContext, Task<bool>>> _commands = Channel.CreateUnbounded<Func<HttpContext, Task<bool>>>();

    public WatchConnection(IQueryCollection query)
    {
        Query = query;
    }

    public IQueryCollection Query { get; }

    public string? ResourceVersion => Query["resourceVersion"];

    /// <summary>Sends one event line (LF-terminated) and flushes it as its own chunk.</summary>
    public void Send(string line, string lineEnd = "\n") => SendRaw(Encoding.UTF8.GetBytes(line + lineEnd));

    /// <summary>Sends raw bytes as one flushed chunk.</summary>
    public void SendRaw(byte[] bytes) => _commands.Writer.TryWrite(async context =>
    {
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
        return true;
    });

    /// <summary>Sends each byte of the text as its own flushed chunk: splits at every byte boundary, inside UTF-8 sequences too.</summary>
    public void SendByteByByte(string line)
    {
        foreach (byte b in Encoding.UTF8.GetBytes(line + "\n"))
        {
            SendRaw([b]);
        }
    }

    /// <summary>Ends the response normally, as the server does when timeoutSeconds elapses.</summary>
    public void End() => _commands.Writer.TryWrite(_ => Task.FromResult(false));

    /// <summary>Cuts the connection (TCP reset), as a dying API server or proxy does.</summary>
    public void Abort() => _commands.Writer.TryWrite(context =>
    {
        context.Abort();
        return Task.FromResult(false);
    });

    internal void Complete() => _commands.Writer.TryComplete();

    internal async Task RunAsync(HttpContext context)
    {
        try
        {
            await foreach (Func<HttpContext, Task<bool>> command in _commands.Reader.ReadAllAsync(context.RequestAborted))
            {
                if (!await command(context))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
        catch (IOException)
        {
            // The client went away mid-write.
        }
    }
}
