using Gateway.Aspire.Accounting.Extensions;

// A failed start ends in one critical line naming the cause and exit code 1 (ServiceProcess).
return ServiceProcess.Run(args, builder =>
{
    builder.AddServiceDefaults();
    builder.AddApplicationServices();

    var app = builder.Build();

    app.MapDefaultEndpoints();
    app.MapAccountingServices();

    return app;
});
