from fuzzjax.cli.main import main

raise SystemExit(main())
