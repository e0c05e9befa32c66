from memdev.cli import main

raise SystemExit(main())
