using Gateway.Aspire.MockUpstream;

await MockUpstreamApp.Create(args).RunAsync();
