from fuzzjax.cli import main

raise SystemExit(main())
