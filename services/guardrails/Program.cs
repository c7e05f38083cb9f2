using Gateway.Aspire.Guardrails.Checks;
using Gateway.Aspire.Guardrails.Extensions;

// A failed start ends in one critical line naming the cause and exit code 1 (ServiceProcess).
return ServiceProcess.Run(args, builder =>
{
    builder.AddServiceDefaults();
    builder.AddApplicationServices();

    var app = builder.Build();

    app.MapDefaultEndpoints();
    app.MapGrpcService<GuardrailsService>();

    return app;
});
